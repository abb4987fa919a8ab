"""Keys are checked before storing, their capabilities reported, and never shown."""

from __future__ import annotations

import httpx
from sqlalchemy.orm import Session
from tests.support.app import Server
from tests.support.simulator import forget_world
from tests.support.web import csrf_of, sign_in, web_client

from smp.storage import list_integrations, list_service_accounts


def _count(srv: Server) -> int:
    with Session(srv.setup.engine) as session:
        return len(list_integrations(session))


async def test_invalid_key_stores_nothing(
    server: Server, client: httpx.AsyncClient
) -> None:
    before = _count(server)
    for key in ("not a key", server.key("revoked"), "SG." + "a" * 22 + "." + "b" * 43):
        answer = await client.post(
            "/api/v1/integrations",
            headers=server.auth(server.admin_token),
            json={"name": "Bad key", "keys": [{"label": "full", "key": key}]},
        )
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert key not in answer.text
    assert _count(server) == before


async def test_service_account_post_reports_capabilities(
    server: Server, client: httpx.AsyncClient
) -> None:
    admin = server.auth(server.admin_token)
    created = await client.post(
        "/api/v1/integrations",
        headers=admin,
        json={
            "name": "Keys only",
            "keys": [{"label": "full", "key": server.key("full")}],
            "sync_interval_s": 3600,
        },
    )
    assert created.status_code == 201
    integration = created.json()["integration"]
    assert integration["sync_interval_s"] == 3600
    await server.app.state.smp.syncs.wait(integration["id"])
    full_check = created.json()["service_accounts"][0]["check"]
    assert full_check["capabilities"]["members"] is True
    assert full_check["capabilities"]["invoices"] is False
    assert "billing.read" in full_check["missing"]["invoices"]
    assert full_check["fixes"]["invoices"]
    billing = await client.post(
        "/api/v1/service-accounts",
        headers=admin,
        json={
            "integration_id": integration["id"],
            "label": "billing",
            "key": server.key("billing"),
            "billing_account_confirmed": True,
        },
    )
    assert billing.status_code == 201, billing.text
    body = billing.json()
    assert body["check"]["capabilities"]["invoices"] is True
    assert body["service_account"]["kind"] == "billing"
    again = await client.post(
        "/api/v1/service-accounts",
        headers=admin,
        json={
            "integration_id": integration["id"],
            "label": "again",
            "key": server.key("billing"),
        },
    )
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == "application/problem+json"
    problem = again.json()
    assert problem["status"] == 409
    assert problem["title"] == "Conflict"
    assert problem["detail"].endswith("is already connected")
    listing = await client.get(
        f"/api/v1/service-accounts?integration={integration['id']}", headers=admin
    )
    texts = created.text + billing.text + again.text + listing.text
    for kind in ("full", "billing"):
        secret = server.key(kind)
        assert secret not in texts
        assert secret.split(".")[2] not in texts
    sa_id = body["service_account"]["id"]
    removed = await client.delete(f"/api/v1/service-accounts/{sa_id}", headers=admin)
    assert removed.status_code == 204
    listing = await client.get(
        f"/api/v1/service-accounts?integration={integration['id']}", headers=admin
    )
    assert [sa["label"] for sa in listing.json()["items"]] == ["full"]


async def test_integration_crud(server: Server, client: httpx.AsyncClient) -> None:
    admin = server.auth(server.admin_token)
    created = await client.post(
        "/api/v1/integrations", headers=admin, json={"name": "Empty one", "keys": []}
    )
    assert created.status_code == 201
    iid = created.json()["integration"]["id"]
    duplicate = await client.post(
        "/api/v1/integrations", headers=admin, json={"name": "EMPTY ONE", "keys": []}
    )
    assert duplicate.status_code == 409
    patched = await client.patch(
        f"/api/v1/integrations/{iid}", headers=admin, json={"sync_interval_s": 7200}
    )
    assert patched.json()["sync_interval_s"] == 7200
    assert (
        await client.patch(
            f"/api/v1/integrations/{iid}", headers=admin, json={"sync_interval_s": 5}
        )
    ).status_code == 422
    listing = await client.get("/api/v1/integrations?limit=500", headers=admin)
    assert "Empty one" in [i["name"] for i in listing.json()["items"]]
    assert (
        await client.delete(f"/api/v1/integrations/{iid}", headers=admin)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/integrations/{iid}", headers=admin)
    ).status_code == 404


async def test_users_and_tokens(server: Server, client: httpx.AsyncClient) -> None:
    admin = server.auth(server.admin_token)
    made = await client.post(
        "/api/v1/users",
        headers=admin,
        json={"name": "carol-api", "password": "long enough pw", "role": "viewer"},
    )
    assert made.status_code == 201
    assert "password" not in made.json()
    token = await client.post("/api/v1/users/carol-api/tokens", headers=admin)
    raw = token.json()["token"]
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {raw}"}
    )
    assert me.json()["name"] == "carol-api"
    assert (
        await client.delete(f"/api/v1/users/{server.admin}", headers=admin)
    ).status_code == 409
    assert (
        await client.delete("/api/v1/users/carol-api", headers=admin)
    ).status_code == 204
    gone = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {raw}"}
    )
    assert gone.status_code == 401


async def test_an_already_connected_key_is_a_conflict_in_api_and_form(
    server: Server, client: httpx.AsyncClient
) -> None:
    admin = server.auth(server.admin_token)
    forget_world(server.setup.engine, server.world)
    created = await client.post(
        "/api/v1/integrations",
        headers=admin,
        json={"name": "Twice", "keys": [{"label": "full", "key": server.key("full")}]},
    )
    iid = created.json()["integration"]["id"]
    await server.app.state.smp.syncs.wait(iid)
    again = {"integration_id": iid, "label": "again", "key": server.key("full")}
    api = await client.post("/api/v1/service-accounts", headers=admin, json=again)
    assert (api.status_code, api.json()["status"]) == (409, 409)
    async with web_client(server) as browser:
        await sign_in(browser, server.admin)
        settings = await browser.get(f"/integrations/{iid}/settings")
        form = await browser.post(
            f"/integrations/{iid}/service-accounts",
            data={
                "label": "again",
                "key": server.key("full"),
                "csrf_token": csrf_of(settings.text),
            },
        )
    assert form.status_code == 409
    assert api.json()["detail"] in form.text.replace("&hellip;", "…")
    with Session(server.setup.engine) as session:
        assert [sa.label for sa in list_service_accounts(session, iid)] == ["full"]
