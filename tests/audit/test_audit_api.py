"""The trail through the API: admins only; connecting, syncing, adding and
removing a key and accepting a finding each leave their entry; no secret is
ever in the table."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.support.app import Server, asgi_client, connect_and_sync
from tests.support.simulator import key_of

from smp.storage.tables import AuditEventRow, FindingRow

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
# httpx's in-process transport presents every request as from this address.
CLIENT = "127.0.0.1"


def _rows(engine: Engine) -> list[AuditEventRow]:
    with Session(engine) as session:
        rows = list(session.scalars(select(AuditEventRow).order_by(AuditEventRow.id)))
        session.expunge_all()
        return rows


def _of(engine: Engine, action: str) -> list[tuple[str | None, str, str]]:
    return [(r.actor, r.source, r.target) for r in _rows(engine) if r.action == action]


async def test_viewers_are_refused_and_admins_list_and_verify(server: Server) -> None:
    async with asgi_client(server) as client:
        await _admins_only(server, client)


async def _admins_only(server: Server, client: httpx.AsyncClient) -> None:
    viewer = server.auth(server.viewer_token)
    admin = server.auth(server.admin_token)
    assert (await client.get("/api/v1/audit", headers=viewer)).status_code == 403
    assert (await client.get("/api/v1/audit/verify", headers=viewer)).status_code == 403
    assert (await client.get("/api/v1/audit")).status_code == 401
    made = await client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "name": "listed-by-api",
            "password": "horse battery 12 x",
            "role": "viewer",
        },
    )
    assert made.status_code == 201, made.text
    page = await client.get(
        "/api/v1/audit", headers=admin, params={"action": "user.add", "limit": 1}
    )
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["limit"] == 1
    (newest,) = body["items"]
    assert (newest["actor"], newest["source"], newest["target"]) == (
        server.admin,
        CLIENT,
        "listed-by-api",
    )
    checked = await client.get("/api/v1/audit/verify", headers=admin)
    assert checked.json()["intact"] is True
    bad = await client.get(
        "/api/v1/audit", headers=admin, params={"since": "yesterday"}
    )
    assert bad.status_code == 422
    # A time at the calendar's edge, in a zone that pushes it past it in UTC.
    edge = {"since": "0001-01-01T00:00:00+14:00", "action": "user.add"}
    everything = await client.get("/api/v1/audit", headers=admin, params=edge)
    assert everything.status_code == 200, everything.text
    assert everything.json()["total"] == body["total"]


async def test_connect_sync_keys_and_a_finding_are_recorded_without_secrets(
    server: Server, engine: Engine
) -> None:
    integration_id = await connect_and_sync(server, "Audited Co", ("full",))
    admin = server.auth(server.admin_token)
    full = key_of(server.world, "full")
    shown = f"SG.{full.key_id}…"
    assert _of(engine, "integration.connect") == [(server.admin, CLIENT, "Audited Co")]
    (connect,) = [r for r in _rows(engine) if r.action == "integration.connect"]
    assert connect.details["keys"] == [{"key": shown, "label": "full", "kind": "full"}]
    assert _of(engine, "sync.start") == [(server.admin, CLIENT, "Audited Co")]
    # The scheduler's syncs are SMP's own: no actor.
    syncs = server.app.state.smp.syncs
    assert syncs.start(integration_id, "schedule")
    await syncs.wait(integration_id)
    assert _of(engine, "sync.start")[-1] == (None, "scheduler", "Audited Co")
    async with asgi_client(server) as client:
        added = await client.post(
            "/api/v1/service-accounts",
            headers=admin,
            json={
                "integration_id": integration_id,
                "label": "billing",
                "key": server.key("billing"),
                "billing_account_confirmed": True,
            },
        )
        assert added.status_code == 201, added.text
        assert _of(engine, "key.add") == [(server.admin, CLIENT, "Audited Co")]
        sa_id = added.json()["service_account"]["id"]
        removed = await client.delete(
            f"/api/v1/service-accounts/{sa_id}", headers=admin
        )
        assert removed.status_code == 204
        assert _of(engine, "key.remove") == [(server.admin, CLIENT, "Audited Co")]
        with Session(engine) as session:
            finding = session.scalars(
                select(FindingRow.id).where(FindingRow.integration_id == integration_id)
            ).first()
        assert finding is not None, "the small world yields findings"
        accepted = await client.post(
            f"/api/v1/findings/{finding}/accept",
            headers=admin,
            json={"reason": "known and tolerated"},
        )
        assert accepted.status_code == 200, accepted.text
    assert _of(engine, "finding.accept") == [
        (server.admin, CLIENT, f"finding {finding}")
    ]
    written = repr([(r.actor, r.source, r.target, r.details) for r in _rows(engine)])
    for secret in (full.key, server.key("billing"), server.admin_token):
        assert secret not in written
    assert full.key.split(".")[2] not in written
