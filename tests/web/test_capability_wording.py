"""The web's key tables in words: kinds, data, a billing key's purpose, write access.

The write count comes from the simulator's key, not from SMP's report.
"""

from __future__ import annotations

import re

from tests.support.app import Server, connect_and_sync
from tests.support.web import csrf_of, sign_in, web_client

WRITES = (".create", ".update", ".delete")


def _write_count(srv: Server, kind: str) -> int:
    scopes = next(k for k in srv.world.keys if k.kind == kind).scopes
    return sum(1 for s in scopes if s.endswith(WRITES) or s == "mail.send")


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def test_a_billing_key_is_told_its_purpose_and_no_scopes_it_cannot_hold(
    server: Server,
) -> None:
    integration = await connect_and_sync(server, "Wording", ("full",))
    async with web_client(server) as client:
        await sign_in(client, server.admin)
        form = await client.get(f"/integrations/{integration}/settings")
        added = await client.post(
            f"/integrations/{integration}/service-accounts",
            data={
                "label": "Billing",
                "key": server.key("billing"),
                "billing_account_confirmed": "yes",
                "csrf_token": csrf_of(form.text),
            },
        )
    assert added.status_code == 201, added.text
    shown = _text(added.text[added.text.index("Added SG.") :].split("</section>")[0])
    assert "A billing key is for invoices and billing" in shown
    assert "Invoices ✓ Yes" in shown
    assert "teammates.read" not in shown
    assert "✗ No" not in shown
    writes = _write_count(server, "billing")
    assert f"This key can change {writes} things in SendGrid" in shown
    assert f"The {writes} scopes that can change things" in shown
    page = _text(added.text)
    assert "Full access" in page
    assert "Billing" in page
    assert "full_access" not in page
    assert "usage_credits" not in page
