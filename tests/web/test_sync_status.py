"""A sync's outcome on the web: on the card, the dashboard and /sync-status.

A sync SendGrid did not answer at all is one message naming the host. (The
poll while a sync runs is tested in Chromium, in test_browser.py.)
"""

from __future__ import annotations

import re

import httpx
from tests.support.app import Server, asgi_client
from tests.support.web import sign_in, web_client

from smp.simulator import FaultRule

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
