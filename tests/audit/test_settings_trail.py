"""Settings changed from the web and the API are in the trail, on both databases:
the sync interval, a user's time zone, and who vouched for a billing key."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.support.app import Server, asgi_client, connect_and_sync
from tests.support.web import csrf_of, sign_in, web_client

from smp.storage.tables import AuditEventRow

WEB_ADDRESS = "203.0.113.31"


def _entries(engine: Engine, action: str, target: str) -> list[tuple[Any, ...]]:
    """(actor, source, details) of each `action` on `target`, oldest first."""
    with Session(engine) as session:
        rows = session.execute(
            select(AuditEventRow.actor, AuditEventRow.source, AuditEventRow.details)
            .where(AuditEventRow.action == action, AuditEventRow.target == target)
            .order_by(AuditEventRow.id)
        ).all()
    return [tuple(row) for row in rows]


async def test_the_sync_interval_set_in_the_api_and_the_web_is_recorded(
    server: Server, engine: Engine
) -> None:
    name = f"Interval {uuid.uuid4().hex[:6]}"
    admin = server.auth(server.admin_token)
    async with asgi_client(server) as client:
        made = await client.post(
            "/api/v1/integrations",
            headers=admin,
            json={"name": name, "keys": [], "sync_interval_s": 7200},
        )
        assert made.status_code == 201, made.text
        iid = made.json()["integration"]["id"]
        url = f"/api/v1/integrations/{iid}"
        for seconds in (3600, None):
            answer = await client.patch(
                url, headers=admin, json={"sync_interval_s": seconds}
            )
            assert answer.status_code == 200, answer.text
    async with web_client(server, WEB_ADDRESS) as browser:
        assert (await sign_in(browser, server.admin)).status_code == 303
        page = await browser.get(f"/integrations/{iid}/settings")
        saved = await browser.post(
            f"/integrations/{iid}/interval",
            data={"hours": "6", "csrf_token": csrf_of(page.text)},
        )
        assert saved.status_code == 303
    connected = _entries(engine, "integration.connect", name)
    assert [details["sync_interval_s"] for *_, details in connected] == [7200]
    assert _entries(engine, "integration.interval", name) == [
        (server.admin, "127.0.0.1", {"sync_interval_s": 3600}),
        (server.admin, "127.0.0.1", {"sync_interval_s": None}),
        (server.admin, WEB_ADDRESS, {"sync_interval_s": 21600}),
    ]


async def test_a_time_zone_change_is_recorded(server: Server, engine: Engine) -> None:
    async with web_client(server, WEB_ADDRESS) as browser:
        assert (await sign_in(browser, server.viewer)).status_code == 303
        page = await browser.get("/account")
        for zone in ("Pacific/Kiritimati", "Europe/Atlantis"):
            await browser.post(
                "/account/time-zone",
                data={"time_zone": zone, "csrf_token": csrf_of(page.text)},
            )
    # The refused zone changed nothing, so it has no entry.
    assert _entries(engine, "user.time_zone", server.viewer) == [
        (server.viewer, WEB_ADDRESS, {"time_zone": "Pacific/Kiritimati"})
    ]


async def test_a_time_zone_change_through_the_api_is_the_api_users(
    server: Server, engine: Engine
) -> None:
    """Not the OS user running the server: the token's user, from the client."""
    async with asgi_client(server) as client:
        answer = await client.patch(
            "/api/v1/users/me",
            headers=server.auth(server.admin_token),
            json={"time_zone": "America/St_Johns"},
        )
        assert answer.status_code == 200, answer.text
    assert _entries(engine, "user.time_zone", server.admin) == [
        (server.admin, "127.0.0.1", {"time_zone": "America/St_Johns"})
    ]


async def test_who_vouched_for_a_billing_key_is_recorded(
    server: Server, engine: Engine
) -> None:
    name = f"Billing {uuid.uuid4().hex[:6]}"
    await connect_and_sync(server, name, ("full", "billing"))
    ((_actor, _source, details),) = _entries(engine, "integration.connect", name)
    assert details["billing_confirmed_by"] == f"{server.admin} (API)"
    assert "sync_interval_s" not in details
