"""Invoices SendGrid did not provide: a neutral notice, not an alarm (ADR 3)."""

from __future__ import annotations

import re

from tests.support.app import Server, asgi_client
from tests.support.web import sign_in, web_client

from smp.simulator import FaultRule

NOTICE = re.compile(r'<p class="([^"]*)" data-testid="invoices-unavailable">')


async def _dashboard(server: Server, integration_id: int) -> str:
    async with web_client(server) as client:
        await sign_in(client, server.viewer)
        page = await client.get(f"/integrations/{integration_id}")
    assert page.status_code == 200
    return page.text


async def test_a_404_on_invoices_shows_a_neutral_notice_and_keeps_them(
    server: Server, synced: int
) -> None:
    assert NOTICE.search(await _dashboard(server, synced)) is None
    server.setup.sim.add_fault(
        FaultRule(kind="status", status=404, path="/v3/billing/invoices")
    )
    async with asgi_client(server) as client:
        started = await client.post(
            "/api/v1/sync-runs",
            headers=server.auth(server.admin_token),
            json={"integration_id": synced},
        )
        assert started.status_code == 202, started.text
        await server.app.state.smp.syncs.wait(synced)
        runs = await client.get(
            f"/api/v1/sync-runs?integration={synced}",
            headers=server.auth(server.viewer_token),
        )
    latest = runs.json()["items"][0]
    assert latest["outcome"] == "ok"
    assert latest["errors"] == []
    assert latest["capabilities"]["invoices"]["outcome"] == "unavailable"
    page = await _dashboard(server, synced)
    notice = NOTICE.search(page)
    assert notice is not None
    assert notice.group(1) == "alert info"
    assert "SendGrid does not document its invoices endpoint" in page
    assert 'data-testid="needs-attention"' not in page
    for invoice in server.world.accounts[0].invoices:
        assert invoice["invoice_number"] in page
