"""The key rules: pure cases, then the acceptance path on the simulator — a
sync gives exactly the findings the world states, and narrowing a key and
removing an exempt teammate through the control surface resolve exactly those.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine
from tests.support.simulator import Setup, synced, wire_up

from smp.model.findings import Facts
from smp.model.rules_keys import (
    API_KEY_INVENTORY,
    API_KEY_UNCHANGED,
    InventoryKey,
    full_access_keys,
    powerful_keys,
    unchanged_keys,
)
from smp.model.rules_service_accounts import SERVICE_KEYS, ServiceKey
from smp.services.findings import list_findings
from smp.simulator import World, generate_world, load_world
from smp.simulator.scopes import scopes_for_kind
from smp.sync import run_sync

NOW = dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC)
KEY_RULES = (
    "api_key_full_access",
    "api_key_powerful_scopes",
    "api_key_unchanged",
    "two_factor_exempt",
)


def _key(key_id: str, scopes: list[str], age_days: int = 1) -> InventoryKey:
    changed = NOW - dt.timedelta(days=age_days)
    return InventoryKey(key_id, f"key {key_id}", tuple(scopes), changed, changed)


def _facts(keys: list[InventoryKey], smp_key: str = "smp") -> Facts:
    service = [ServiceKey(1, "access", smp_key, "restricted", "ok")]
    return Facts(
        1,
        NOW,
        {API_KEY_INVENTORY.name: keys, SERVICE_KEYS.name: service},
        {API_KEY_UNCHANGED.id: {"days": 30}},
    )


def test_key_rules_on_rows() -> None:
    keys = [
        _key("full", scopes_for_kind("full")),
        _key("smp", ["api_keys.read", "stats.read", "teammates.read"], age_days=30),
        _key("other", ["api_keys.read", "stats.read"], age_days=29),
        _key("sender", ["mail.send"]),
    ]
    facts = _facts(keys)
    assert [o.subject_key for o in full_access_keys(facts) or []] == ["api_key:full"]
    powerful = {o.subject_key: o.evidence for o in powerful_keys(facts) or []}
    assert set(powerful) == {"api_key:other", "api_key:sender"}
    assert powerful["api_key:other"]["risky_scopes"] == ["api_keys.read"]
    assert powerful["api_key:sender"]["risky_scopes"] == ["mail.send"]
    unchanged = unchanged_keys(facts) or []
    assert [o.subject_key for o in unchanged] == ["api_key:smp"]
    assert unchanged[0].evidence["created"] == "not available from SendGrid"
    # No inventory read yet: the rules cannot tell.
    assert full_access_keys(_facts([])) is None
    assert unchanged_keys(_facts([])) is None


def _expected(world: World, smp_key_id: str) -> set[tuple[str, str]]:
    """(rule, subject) the world states, from its keys and teammates."""
    account = world.accounts[0]
    found = set()
    for key in world.keys:
        if key.account != account.username or key.kind == "revoked":
            continue
        subject = f"api_key:{key.key_id}"
        if key.kind == "full" and len(key.scopes) > 100:
            found.add(("api_key_full_access", subject))
            continue
        risky = {
            s
            for s in key.scopes
            if s.rsplit(".", 1)[-1] in ("create", "update", "delete")
            or s == "mail.send"
            or s.startswith(("api_keys.", "teammates."))
        }
        if key.key_id == smp_key_id:
            risky -= {"api_keys.read", "teammates.read"}
        if risky:
            found.add(("api_key_powerful_scopes", subject))
    for mate in account.teammates:
        if "2fa_exempt" in mate["scopes"]:
            found.add(("two_factor_exempt", f"teammate:{mate['username']}"))
    return found


@pytest.fixture
def setup(engine: Engine) -> Setup:
    world = generate_world(seed=23, accounts=1, teammates=9, pending=1, subusers=1)
    return wire_up(world, engine)


def _open(setup: Setup, name: str) -> set[tuple[str, str]]:
    page = list_findings(setup.engine, integration=name)
    return {
        (f.rule, f.subject_key)
        for f in page.items
        if f.rule in KEY_RULES and f.status == "open"
    }


async def test_a_sync_finds_what_the_world_states_and_changes_resolve_them(
    setup: Setup,
) -> None:
    name = "key findings"
    iid = await synced(setup, name)
    world = setup.world
    full = next(k for k in world.keys if k.kind == "full")
    expected = _expected(world, full.key_id)
    assert ("api_key_full_access", f"api_key:{full.key_id}") in expected
    assert any(rule == "two_factor_exempt" for rule, _ in expected)
    assert _open(setup, name) == expected

    # The full key narrowed to its reads; the exempt teammate removed.
    changed = load_world(world.to_json())
    narrowed = next(k for k in changed.keys if k.kind == "full")
    narrowed.scopes = sorted(s for s in narrowed.scopes if s.endswith(".read"))
    account = changed.accounts[0]
    account.teammates = [
        t for t in account.teammates if "2fa_exempt" not in t["scopes"]
    ]
    setup.sim.replace_world(changed)
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.outcome.value == "ok", report.to_json()
    resolved = {
        (f.rule, f.subject_key)
        for f in list_findings(setup.engine, integration=name).items
        if f.status == "resolved"
    }
    assert resolved == expected - _expected(changed, full.key_id)
    assert resolved == {
        ("api_key_full_access", f"api_key:{full.key_id}"),
        *{(r, s) for r, s in expected if r == "two_factor_exempt"},
    }
    assert _open(setup, name) == _expected(changed, full.key_id)
