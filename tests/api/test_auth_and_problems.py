"""Every /api/v1 route needs a token; viewers cannot write; errors are problems."""

from __future__ import annotations

import re

import httpx
from tests.support.app import Server

PROBLEM = "application/problem+json"


def api_routes(srv: Server) -> list[tuple[str, str]]:
    found = []
    for template, operations in srv.app.openapi()["paths"].items():
        if template.startswith("/api/v1"):
            path = re.sub(r"\{[^}]+\}", "1", template)
            found += [(method.upper(), path) for method in operations]
    return found


async def test_every_api_route_needs_a_token(
    server: Server, client: httpx.AsyncClient
) -> None:
    routes = api_routes(server)
    assert len(routes) >= 20
    for method, path in routes:
        for headers in (
            {},
            {"Authorization": "Bearer smp_not-a-token"},
            {"Authorization": "Basic YWRtaW46YWRtaW4="},
        ):
            answer = await client.request(method, path, headers=headers, json={})
            assert answer.status_code == 401, (method, path, headers)
            assert answer.headers["content-type"] == PROBLEM
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert answer.json()["status"] == 401


async def test_openapi_needs_auth_and_healthz_does_not(
    server: Server, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/openapi.json")).status_code == 401
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    schema = (
        await client.get("/openapi.json", headers=server.auth(server.viewer_token))
    ).json()
    assert "/api/v1/members" in schema["paths"]


async def test_viewer_writes_are_forbidden(
    server: Server, client: httpx.AsyncClient, synced: int
) -> None:
    headers = server.auth(server.viewer_token)
    writes = [
        ("POST", "/api/v1/integrations", {"name": "x", "keys": []}),
        ("PATCH", f"/api/v1/integrations/{synced}", {"sync_interval_s": 3600}),
        ("DELETE", f"/api/v1/integrations/{synced}", None),
        (
            "POST",
            "/api/v1/service-accounts",
            {"integration_id": synced, "label": "x", "key": server.key("billing")},
        ),
        ("DELETE", "/api/v1/service-accounts/1", None),
        ("POST", "/api/v1/sync-runs", {"integration_id": synced}),
        ("POST", "/api/v1/users", {"name": "mallory", "password": "12345678"}),
        ("DELETE", f"/api/v1/users/{server.admin}", None),
        ("POST", f"/api/v1/users/{server.viewer}/tokens", None),
        ("GET", "/api/v1/users", None),
    ]
    for method, path, body in writes:
        answer = await client.request(method, path, headers=headers, json=body)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.headers["content-type"] == PROBLEM
    me = await client.get("/api/v1/users/me", headers=headers)
    assert me.json()["role"] == "viewer"
    still = await client.get(f"/api/v1/integrations/{synced}", headers=headers)
    assert still.status_code == 200
    assert still.json()["sync_interval_s"] == 6 * 3600


async def test_errors_are_problem_details(
    server: Server, client: httpx.AsyncClient, synced: int
) -> None:
    headers = server.auth(server.admin_token)
    cases = [
        (await client.get("/api/v1/integrations/999999", headers=headers), 404),
        (await client.get("/api/v1/members?integration=999999", headers=headers), 404),
        (await client.get("/api/v1/members", headers=headers), 422),
        (
            await client.get(
                f"/api/v1/members?integration={synced}&limit=0", headers=headers
            ),
            422,
        ),
        (
            await client.get(
                f"/api/v1/members?integration={synced}&limit=501", headers=headers
            ),
            422,
        ),
        (
            await client.get(
                f"/api/v1/members?integration={synced}&role=god", headers=headers
            ),
            422,
        ),
        (
            await client.get(
                "/api/v1/members?integration=99999999999999", headers=headers
            ),
            422,
        ),
        (await client.put("/api/v1/integrations", headers=headers), 405),
        (await client.post("/api/v1/sync-runs", headers=headers, content=b"{}"), 415),
        (
            await client.post(
                "/api/v1/sync-runs",
                headers={**headers, "Content-Type": "text/plain"},
                content=b'{"integration_id": 1}',
            ),
            415,
        ),
        (
            await client.post(
                "/api/v1/sync-runs", headers=headers, json={"integration_id": "x"}
            ),
            422,
        ),
        (await client.post("/api/v1/sync-runs", headers=headers, json=[1, 2]), 422),
        (
            await client.post(
                "/api/v1/sync-runs",
                headers={**headers, "Content-Type": "application/json"},
                content=b"{not json",
            ),
            422,
        ),
        (
            await client.post(
                "/api/v1/integrations", headers=headers, json={"name": "x" * 100_000}
            ),
            413,
        ),
    ]
    for answer, status in cases:
        assert answer.status_code == status, (answer.request.url, answer.text)
        assert answer.headers["content-type"] == PROBLEM
        body = answer.json()
        assert body["status"] == status
        assert body["title"]


async def test_validation_errors_never_echo_the_rejected_input(
    server: Server, client: httpx.AsyncClient, synced: int
) -> None:
    secret = server.key("full")
    answer = await client.post(
        "/api/v1/service-accounts",
        headers=server.auth(server.admin_token),
        json={
            "integration_id": synced,
            "label": "x\u0000",
            "key": secret,
            "extra": secret,
        },
    )
    assert answer.status_code == 422
    assert secret not in answer.text
    assert secret.split(".")[2] not in answer.text
