"""A sync's state on the web: a small poll while it runs, its outcome after.

The dashboard no longer reloads itself while a sync runs: it has a progress
element and asks /integrations/ID/sync-status (static/sync_status.js). A sync
SendGrid did not answer at all is one message on the card and the dashboard.
"""

from __future__ import annotations

import re

import httpx
from tests.api.appkit import Server
from tests.api.conftest import asgi_client
from tests.web.webkit import sign_in, web_client

from smp.simulator import FaultRule
from smp.storage import integration_lock

CARD = re.compile(
    r'<section class="card" aria-labelledby="int-(\d+)">(.*?)</section>', re.S
)


async def _start_sync(server: Server, integration_id: int) -> None:
    async with asgi_client(server) as client:
        started = await client.post(
            "/api/v1/sync-runs",
            headers=server.auth(server.admin_token),
            json={"integration_id": integration_id},
        )
    assert started.status_code == 202, started.text


async def _status(web: httpx.AsyncClient, integration_id: int) -> dict[str, object]:
    answer = await web.get(f"/integrations/{integration_id}/sync-status")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    found: dict[str, object] = answer.json()
    return found


async def test_a_running_sync_is_polled_not_reloaded(
    server: Server, synced: int
) -> None:
    async with web_client(server) as web:
        await sign_in(web, server.viewer)
        # Holding the integration's lock keeps the sync waiting: running, for sure.
        with integration_lock(server.setup.engine, synced):
            await _start_sync(server, synced)
            page = (await web.get(f"/integrations/{synced}")).text
            running = await _status(web, synced)
        await server.app.state.smp.syncs.wait(synced)
        ended = await _status(web, synced)
    assert 'http-equiv="refresh"' not in page
    assert "data-running" in page
    assert 'data-testid="sync-progress"' in page
    assert '<script src="/static/sync_status.js"></script>' in page
    assert running["running"] is True
    assert "sync-progress" in str(running["html"])
    assert ended["running"] is False
    assert ended["outcome"] == "ok"
    assert 'data-testid="show-new-data"' in str(ended["html"])


async def test_sendgrid_not_answering_is_one_message_with_the_host(
    server: Server, synced: int
) -> None:
    server.setup.sim.add_fault(FaultRule(kind="reset"))
    try:
        await _start_sync(server, synced)
        await server.app.state.smp.syncs.wait(synced)
    finally:
        server.setup.sim.clear_faults()
    async with web_client(server) as web:
        await sign_in(web, server.viewer)
        listing = (await web.get("/integrations")).text
        dashboard = (await web.get(f"/integrations/{synced}")).text
        status = await _status(web, synced)
    card = next(body for iid, body in CARD.findall(listing) if int(iid) == synced)
    outcome = re.search(r'data-testid="last-sync">(.*?)</span>\s*</p>', card, re.S)
    assert outcome is not None
    assert "failed" in outcome.group(1)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", outcome.group(1))
    errors = re.findall(r'data-testid="last-sync-error">([^<]*)<', card)
    assert len(errors) == 1
    assert "api.sendgrid.com" in errors[0]
    assert "/v3/" not in card
    assert dashboard.count('data-testid="needs-attention"') == 1
    assert dashboard.count(errors[0].removeprefix("Last sync failed: ")) == 1
    assert "/v3/" not in dashboard
    assert status["outcome"] == "failed"
