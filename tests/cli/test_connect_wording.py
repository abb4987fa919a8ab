"""What `smp connect` prints about each key: kinds in words, a billing key's purpose.

Write scopes are counted from the simulator's own key, not from SMP's report.
"""

from __future__ import annotations

import pytest
from tests.cli.clikit import run

from smp.simulator import World

WRITES = (".create", ".update", ".delete")


@pytest.mark.loopback
def test_connect_names_kinds_and_gives_a_billing_key_no_advice_it_cannot_take(
    served: tuple[World, str],
) -> None:
    world, base_url = served
    full = next(k for k in world.keys if k.kind == "full")
    writes = [s for s in full.scopes if s.endswith(WRITES) or s == "mail.send"]
    output = run(
        "connect", "sendgrid", "Wording", "--key-env", "SG_FULL",
        "--billing-key-env", "SG_BILLING", "--confirm-billing-account",
        "--base-url", base_url,
    )  # fmt: skip
    text = " ".join(output.split())  # rich wraps long lines at the terminal width
    access, billing = text.split("kind: Billing", 1)
    assert "kind: Full access" in access
    assert f"This key can change {len(writes)} things in SendGrid" in access
    assert "full_access" not in text
    assert "A billing key is for invoices and billing" in billing
    assert "teammates.read" in access
    assert "teammates.read" not in billing.split("Next:")[0]
    assert "Invoices" in billing
