"""The API reference: operations say what they do; bearer auth; examples.

/docs is Swagger UI served from the installed package: no CDN, no inline script.
"""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from tests.support.app import Server
from tests.support.web import sign_in, web_client

from smp.api import schemas
from smp.api.examples import EXAMPLES

# Titles that name no thing: what FastAPI makes of `list_all`, `read`, ...
GENERIC = {"list", "list all", "read", "get", "create", "update", "delete", "remove"}


def test_every_operation_has_a_summary_that_says_what_it_does(server: Server) -> None:
    bad = []
    for route in server.app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        summary = (route.summary or "").strip()
        generated = route.name.replace("_", " ").title()
        if (
            not summary
            or summary == generated
            or summary.lower() in GENERIC
            or len(summary.split()) < 3
        ):
            bad.append(f"{sorted(route.methods)} {route.path}: {summary!r}")
    assert bad == []


def test_the_schema_has_bearer_auth_and_examples(server: Server) -> None:
    schema = server.app.openapi()
    schemes = schema["components"]["securitySchemes"]
    assert [s["scheme"].lower() for s in schemes.values()] == ["bearer"]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if path != "/healthz":
                assert operation.get("security"), f"{method} {path}"
    models = schema["components"]["schemas"]
    for name in (*EXAMPLES, "UserOut", "TokenInfo"):
        assert models[name].get("examples"), name


def test_every_example_is_a_valid_answer() -> None:
    for name, value in EXAMPLES.items():
        model = getattr(schemas, name)
        assert model.model_validate(value).model_dump(mode="json").keys() == (
            value.keys()
        )


async def test_docs_page_runs_swagger_ui_from_this_server(server: Server) -> None:
    async with web_client(server) as client:
        await sign_in(client, server.viewer)
        page = await client.get("/docs")
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        for source in sources:
            assert not source.startswith(("http:", "https:", "//")), source
        assert "<script>" not in page.text
        assert "/vendor/swagger-ui/swagger-ui-bundle.js" in sources
        bundle = await client.get("/vendor/swagger-ui/swagger-ui-bundle.js")
        css = await client.get("/vendor/swagger-ui/swagger-ui.css")
        missing = await client.get("/vendor/swagger-ui/..%2Fcore.py")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in bundle.text
    assert css.status_code == 200
    assert missing.status_code == 404
    assert "script-src 'self'" in page.headers["content-security-policy"]
