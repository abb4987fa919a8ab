"""`/docs`: the API reference, rendered from `/openapi.json` (no CDN, no script)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from smp.web.deps import PagesDep
from smp.web.session import SignedInUser

router = APIRouter(include_in_schema=False)


def operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "tag": (operation.get("tags") or ["other"])[0],
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "description": p.get("description", ""),
                        }
                        for p in operation.get("parameters", [])
                    ],
                    "body": "requestBody" in operation,
                    "responses": sorted(operation.get("responses", {})),
                }
            )
    return found


@router.get("/docs")
def docs(request: Request, who: SignedInUser, pages: PagesDep) -> Response:
    return pages.render(
        request, "docs.html", who, operations=operations(request.app.openapi())
    )
