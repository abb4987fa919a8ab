"""Every route against a real `smp serve`: 401 without auth, 403 for a viewer's writes.

The routes come from the app itself (tests/support/routes.py). API routes
answer 401 problem details; pages redirect to the login page instead. Admins
get 200 from every read, so the refusals are not a broken route in disguise,
and nothing a refused request tried has changed.
"""

from __future__ import annotations

import httpx
import pytest
from tests.security.site import Site, sign_in
from tests.support.figures import record
from tests.support.routes import (
    ADMIN_READS,
    ANYONE_WRITES,
    PUBLIC,
    REVIEWER_READS,
    Route,
    app_routes,
)
from tests.support.web import csrf_of

pytestmark = pytest.mark.loopback

ROUTES, SCHEMA = app_routes()
PROTECTED = [r for r in ROUTES if r.key not in PUBLIC]


def _send(
    client: httpx.Client, route: Route, site: Site, **extra: object
) -> httpx.Response:
    url = route.url(site.path_values(site.viewer))
    params = {"integration": site.integration_id} if route.api else None
    if route.method == "GET":
        return client.get(url, params=params, **extra)  # type: ignore[arg-type]
    if route.api:
        body = _body(route, site)
        return client.request(route.method, url, params=params, json=body, **extra)  # type: ignore[arg-type]
    return client.request(route.method, url, data=extra.pop("data", {}), **extra)  # type: ignore[arg-type]


def _body(route: Route, site: Site) -> dict[str, object]:
    """A valid body where any user may post one, so a refusal is about who
    sends it (an item of another reviewer), not a body found wanting first."""
    if route.path == "/api/v1/reviews/{campaign_id}/decisions":
        return {"items": [site.item_id], "decision": "revoke", "reason": "left"}
    return {}


def _state(site: Site) -> tuple[object, ...]:
    """What a write could change: integrations, keys, users, runs."""
    with site.api(site.admin_token) as api:
        integration = api.get(f"/api/v1/integrations/{site.integration_id}").json()
        keys = api.get(
            "/api/v1/service-accounts", params={"integration": site.integration_id}
        ).json()["items"]
        users = api.get("/api/v1/users").json()["items"]
        runs = api.get(
            "/api/v1/sync-runs", params={"integration": site.integration_id}
        ).json()["total"]
    return (
        integration["sync_interval_s"],
        sorted((k["id"], k["status"], k["removed_at"]) for k in keys),
        sorted((u["name"], u["role"]) for u in users),
        runs,
    )


def test_every_route_is_in_the_walk_and_public_ones_are_known() -> None:
    keys = {r.key for r in ROUTES}
    assert keys >= PUBLIC
    assert len(PROTECTED) >= 40, len(PROTECTED)
    assert {r.path for r in PROTECTED if r.api} >= set(SCHEMA["paths"]) - {"/healthz"}


def test_no_route_answers_without_auth(site: Site) -> None:
    before = _state(site)
    checked = 0
    with (
        site.http.client() as anonymous,
        site.http.client(headers=site.bearer("smp_not-a-real-token")) as forged,
    ):
        for route in PROTECTED:
            for client in (anonymous, forged):
                answer = _send(client, route, site)
                checked += 1
                if route.api:
                    assert answer.status_code == 401, (route, answer.text)
                    assert answer.headers["content-type"].startswith(
                        "application/problem+json"
                    )
                    assert answer.headers["www-authenticate"].startswith("Bearer")
                else:
                    assert answer.status_code == 303, (route, answer.text)
                    assert answer.headers["location"] == "/login"
    # A browser session is no credential for the API: no CSRF hole there.
    with sign_in(site.http, site.admin) as browser:
        for route in (r for r in PROTECTED if r.api and r.path != "/openapi.json"):
            assert _send(browser, route, site).status_code == 401, route
            checked += 1
    assert _state(site) == before
    record(
        "security_unauthenticated",
        {"database": site.database, "routes": len(PROTECTED), "requests": checked},
    )


def test_admin_reads_every_route(site: Site) -> None:
    reads = [r for r in PROTECTED if not r.write]
    with site.api(site.admin_token) as api, sign_in(site.http, site.admin) as browser:
        for route in reads:
            answer = _send(api if route.api else browser, route, site)
            assert answer.status_code == 200, (route, answer.text[:300])


def test_viewer_is_refused_every_write_and_admin_read(site: Site) -> None:
    before = _state(site)
    refused = 0
    with site.api(site.viewer_token) as api, sign_in(site.http, site.viewer) as browser:
        csrf = csrf_of(browser.get("/integrations").text)
        for route in PROTECTED:
            if route.key in ANYONE_WRITES:
                continue
            client = api if route.api else browser
            extra = (
                {} if route.api or not route.write else {"data": {"csrf_token": csrf}}
            )
            answer = _send(client, route, site, **extra)
            if route.write or route.key in ADMIN_READS | REVIEWER_READS:
                assert answer.status_code == 403, (route, answer.text[:300])
                refused += 1
            else:
                assert answer.status_code == 200, (route, answer.text[:300])
    assert _state(site) == before
    record("security_viewer", {"database": site.database, "refused": refused})
