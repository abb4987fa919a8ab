"""Which data no connected key reads, decided the way the sync picks keys.

Keys carry the scopes the simulator gives each kind of key; what they can
read follows from SendGrid's scope names (`report_from_scopes`).
"""

from __future__ import annotations

import datetime as dt

from smp.model import KeyKind, KeyStatus, ServiceAccount
from smp.sendgrid import report_from_scopes
from smp.services.unreadable import READS, unreadable
from smp.simulator.scopes import scopes_for_kind


def key(
    number: int, kind: str, *, drop: str = "", removed: bool = False
) -> ServiceAccount:
    scopes = [s for s in scopes_for_kind(kind) if s != drop]
    report = report_from_scopes(f"key{number}", scopes)
    return ServiceAccount(
        id=number,
        integration_id=1,
        label=kind,
        kind=KeyKind.FULL,
        key_id=f"key{number}",
        status=KeyStatus.OK,
        scopes=tuple(scopes),
        capabilities=tuple(n for n, ok in report.capabilities.items() if ok),
        missing=report.missing,
        removed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) if removed else None,
    )


def test_full_billing_and_validation_keys_read_everything() -> None:
    keys = [key(1, "full"), key(2, "billing"), key(3, "validation")]
    assert unreadable(keys) == {}


def test_one_key_is_this_key() -> None:
    found = unreadable([key(1, "restricted")])
    assert (
        found["subusers"].message == "This key cannot read subusers: add subusers.read"
    )
    assert found["subusers"].missing == ("subusers.read",)
    assert found["invoices"].missing == ("billing.read",)
    assert "members" not in found  # the restricted key has teammates.read


def test_no_key_among_several_reads_it() -> None:
    found = unreadable([key(1, "restricted"), key(2, "billing")])
    assert (
        found["volume"].message
        == "No connected key can read e-mail volume: add stats.read"
    )
    assert "invoices" not in found


def test_the_first_key_with_the_capability_must_have_the_extra_scope() -> None:
    # The sync reads subusers with the first key that can: a later key's
    # subusers.credits.read does not help, and the message names the key.
    first = key(1, "full", drop="subusers.credits.read")
    found = unreadable([first, key(2, "full")])
    assert set(found) == {"subuser_credits", "invoices", "validation_jobs"}
    assert found["subuser_credits"].message == (
        "Key SG.key1… cannot read subusers' credits: add subusers.credits.read"
    )


def test_removed_keys_read_nothing() -> None:
    found = unreadable([key(1, "full", removed=True)])
    assert set(found) == set(READS)
    assert (
        found["members"].message
        == "No connected key can read members: add teammates.read"
    )


def test_the_security_reads_say_which_scope_is_missing() -> None:
    """SSO, the IP allowlist, access attempts, the key inventory, teammates'
    scopes and validation jobs are named like the rest, with their scope."""
    found = unreadable([key(1, "billing")])
    assert {
        data: found[data].message
        for data in (
            "api_keys",
            "teammate_scopes",
            "sso",
            "ip_allowlist",
            "access_activity",
            "validation_jobs",
        )
    } == {
        "api_keys": "This key cannot read the account's API keys: add api_keys.read",
        "teammate_scopes": (
            "This key cannot read teammates' scopes and 2FA flags: add teammates.read"
        ),
        "sso": "This key cannot read SSO settings and certificates: add "
        "sso.settings.read",
        "ip_allowlist": "This key cannot read the IP allowlist: add "
        "access_settings.whitelist.read",
        "access_activity": "This key cannot read access attempts: add "
        "access_settings.activity.read",
        "validation_jobs": "This key cannot read e-mail validation jobs: connect a "
        "separate Email Validation key (validations.email.read)",
    }
    # A restricted key without sso.settings.read reads the rest of them.
    restricted = unreadable(
        [key(1, "full", drop="sso.settings.read"), key(2, "billing")]
    )
    assert {"sso", "validation_jobs"} <= set(restricted)
    assert not {"api_keys", "ip_allowlist", "access_activity"} & set(restricted)
