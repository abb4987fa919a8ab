"""`/docs`: the interactive API reference (Swagger UI) over `/openapi.json`.

Swagger UI's files come from the installed `fastapi-offline` package, so the
reference works offline and loads nothing from a CDN; its start-up script is
our own static file, because the CSP allows no inline script.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from smp.web.deps import PagesDep
from smp.web.session import SignedInUser

router = APIRouter(include_in_schema=False)

SWAGGER_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
}


def swagger_file(name: str) -> bytes:
    """One of Swagger UI's files, read from the installed package."""
    return (resources.files("fastapi_offline") / "static" / name).read_bytes()


@router.get("/vendor/swagger-ui/{name}")
def swagger_asset(name: str) -> Response:
    media_type = SWAGGER_FILES.get(name)
    if media_type is None:
        raise HTTPException(404)
    return Response(
        swagger_file(name),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/docs")
def docs(request: Request, who: SignedInUser, pages: PagesDep) -> Response:
    return pages.render(request, "docs.html", who)
