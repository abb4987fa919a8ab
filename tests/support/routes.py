"""Every route of the app, read from the app itself so the list cannot go stale.

The routes of an app built by `smp.server.create_app` are walked (FastAPI's
included routers too) and cross-checked against `/openapi.json`, so a walk
that misses routes fails instead of checking fewer of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute

from smp.server import create_app
from smp.storage import SecretBox, generate_key, make_engine
from smp.sync import SyncContext

# Reachable without signing in, each for a reason.
PUBLIC = {
    ("GET", "/healthz"),  # liveness probe
    ("GET", "/login"),
    ("POST", "/login"),  # guarded by its double-submit CSRF cookie instead
    ("GET", "/"),  # only redirects to /integrations
    ("GET", "/vendor/plotly.min.js"),  # the charts' library, no data
    ("GET", "/vendor/swagger-ui/{name}"),  # the API reference's library, no data
}
# Routes only admins may read.
ADMIN_READS = {
    ("GET", "/api/v1/users"),
    ("GET", "/users"),
    ("GET", "/integrations/sendgrid/new"),
    ("GET", "/integrations/{integration_id}/delete"),
    ("GET", "/people/import"),  # the directory upload form
    # Alert channels name internal hosts and recipients.
    ("GET", "/api/v1/alert-channels"),
    ("GET", "/settings/alerts"),
    ("GET", "/settings/thresholds"),
    # The audit trail records everyone's actions, and where from.
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/audit/verify"),
    ("GET", "/audit"),
    ("GET", "/audit/export{suffix}"),
    # Only admins start a review campaign or export its evidence.
    ("GET", "/reviews/new"),
    ("GET", "/api/v1/reviews/{campaign_id}/evidence"),
}
# A review campaign: an admin, or a reviewer with items in it (a viewer
# assigned none gets 403). Its item list answers anyone, with their own items
# only (none for that viewer).
REVIEWER_READS = {
    ("GET", "/api/v1/reviews/{campaign_id}"),
    ("GET", "/reviews/{campaign_id:int}"),
    ("GET", "/reviews/{campaign_id:int}/items/{item_id:int}"),
}
# Any signed-in user may end their own session, set their own time zone and
# make or revoke their own API tokens.
ANYONE_WRITES = {
    ("POST", "/logout"),
    ("POST", "/account/time-zone"),
    ("POST", "/account/tokens"),
    ("POST", "/account/tokens/{token_id}/revoke"),
    ("PATCH", "/api/v1/users/me"),
    ("POST", "/api/v1/users/me/tokens"),
    ("DELETE", "/api/v1/users/me/tokens/{token_id}"),
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    form_fields: tuple[str, ...]
    query_fields: tuple[str, ...]

    @property
    def path_fields(self) -> list[str]:
        return re.findall(r"\{(\w+)(?::\w+)?\}", self.path)

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/") or self.path == "/openapi.json"

    @property
    def write(self) -> bool:
        return self.method != "GET"

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    def url(self, values: dict[str, str]) -> str:
        # `{name}` or `{name:int}` (a Starlette converter)
        return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], self.path)


def _walk(routes: Iterable[Any], prefix: str = "") -> Iterator[Route]:
    for route in routes:
        if isinstance(route, APIRoute):
            fields = tuple(p.name for p in route.dependant.body_params)
            query = tuple(p.alias for p in route.dependant.query_params)
            for method in sorted(route.methods):
                yield Route(method, prefix + route.path, fields, query)
        elif hasattr(route, "original_router"):  # FastAPI >= 0.165 includes lazily
            inner = route.original_router
            yield from _walk(inner.routes, prefix + route.include_context.prefix)


def app_routes() -> tuple[list[Route], dict[str, Any]]:
    """All routes with their form fields, and the app's OpenAPI document."""
    engine = make_engine("sqlite://")
    app = create_app(
        engine, SecretBox.from_key(generate_key()), SyncContext(), scheduler=False
    )
    routes = list(_walk(app.routes))
    schema = app.openapi()
    engine.dispose()
    documented = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
    }
    missing = documented - {r.key for r in routes}
    assert not missing, f"the route walk missed {missing}"
    return routes, schema
