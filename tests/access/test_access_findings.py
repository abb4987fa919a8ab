"""The SSO and IP-access rules: exactly the findings the world implies after a
sync, exactly the resolutions after the world changes, and each rule alone on
facts written by hand (thresholds, and silence when nothing can be read).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.support.months import real_today
from tests.support.simulator import Setup, connect_world, wire_up

from smp.model.findings import Facts
from smp.model.rules_access import (
    ACCESS_ADDRESSES,
    ALLOWLIST_RULES,
    NEW_ACCESS_ADDRESS,
    PRIVILEGED_MEMBERS,
    SSO_CERTIFICATE_EXPIRING,
    SSO_SETUP,
    AccessAddress,
    PrivilegedMember,
    SsoCertificateFact,
    SsoSetup,
    admins_without_sso,
    certificates_expiring,
    new_addresses,
    no_allowlist,
)
from smp.simulator import Account, World, generate_world, load_world
from smp.simulator.faults import FaultRule
from smp.storage.findings import evaluate_findings
from smp.storage.tables import FindingRow
from smp.sync.engine import run_sync

RULES = (
    "admin_without_sso",
    "sso_certificate_expiring",
    "no_ip_allowlist",
    "new_access_address",
)
DAY = 86_400


def _expected(account: Account, now: dt.datetime) -> set[tuple[str, str]]:
    """(rule, subject key) the world implies, from its plain dicts."""
    stamp = int(now.timestamp())
    found: set[tuple[str, str]] = set()
    if any(s["enabled"] for s in account.sso_integrations):
        found |= {
            ("admin_without_sso", t["email"].lower())
            for t in account.teammates
            if t["user_type"] in ("owner", "admin") and not t["is_sso"]
        }
    found |= {
        ("sso_certificate_expiring", f"sso_certificate:{s['id']}:{c['id']}")
        for s in account.sso_integrations
        for c in s["certificates"]
        if c["not_after"] <= stamp + 30 * DAY
    }
    if not account.ip_allowlist:
        found.add(("no_ip_allowlist", "account"))
    found |= {
        ("new_access_address", f"ip:{a['ip']}")
        for a in account.access_activity
        if a["first_at"] >= stamp - 30 * DAY
    }
    return found


def _findings(engine: Engine, iid: int) -> dict[tuple[str, str], str]:
    with Session(engine) as session:
        rows = session.scalars(
            select(FindingRow).where(
                FindingRow.integration_id == iid, FindingRow.rule.in_(RULES)
            )
        )
        return {(r.rule, r.subject_key): r.status for r in rows}


def _world() -> World:
    world = generate_world(seed=41, accounts=1, teammates=8, pending=0, subusers=0,
                           months=1, invoices=0, today=real_today())  # fmt: skip
    account = world.accounts[0]
    # Every rule has a subject: SSO on, one admin on a password, a certificate
    # expiring in 10 days, a brand-new address.
    account.sso_integrations[0]["enabled"] = True
    admin = next(t for t in account.teammates if t["user_type"] == "admin")
    admin["is_sso"] = False
    today = int(dt.datetime.combine(world.today_date(), dt.time(), dt.UTC).timestamp())
    account.sso_integrations[0]["certificates"][0]["not_after"] = today + 10 * DAY
    account.access_activity[0]["first_at"] = today - 2 * DAY
    return load_world(world.to_json())


async def test_a_sync_finds_what_the_world_implies_and_resolves_what_changed(
    engine: Engine,
) -> None:
    setup: Setup = wire_up(_world(), engine)
    now = setup.context.now()
    iid = await connect_world(setup, "access findings", ("full",))
    await run_sync(setup.engine, setup.box, iid, setup.context)
    expected = _expected(setup.world.accounts[0], now)
    assert {rule for rule, _ in expected} == set(RULES) - {"no_ip_allowlist"}
    assert _findings(engine, iid) == dict.fromkeys(expected, "open")
    # SSO turned off, the certificate renewed, the allowlist removed.
    world = load_world(setup.world.to_json())
    account = world.accounts[0]
    account.sso_integrations[0]["enabled"] = False
    for cert in account.sso_integrations[0]["certificates"]:
        cert["not_after"] = int(now.timestamp()) + 400 * DAY
    account.ip_allowlist = []
    setup.sim.replace_world(world)
    await run_sync(setup.engine, setup.box, iid, setup.context)
    after = _expected(account, now)
    assert ("no_ip_allowlist", "account") in after
    assert _findings(engine, iid) == {
        **dict.fromkeys(expected - after, "resolved"),
        **dict.fromkeys(after, "open"),
    }


async def test_a_never_synced_integration_has_no_access_findings(
    engine: Engine,
) -> None:
    """Its key holds every scope, yet nothing was read: no "no IP allowlist"."""
    setup: Setup = wire_up(_world(), engine)
    iid = await connect_world(setup, "never synced", ("full",))
    evaluate_findings(engine, now=setup.context.now(), integration_ids=[iid])
    assert _findings(engine, iid) == {}


async def test_reads_that_failed_make_no_access_findings(engine: Engine) -> None:
    """The allowlist refused (403, as a key without the scope), SSO and the
    access attempts answering 500: none of their rules fires."""
    world = _world()
    world.accounts[0].ip_allowlist = []  # were it read, "no allowlist" is due
    setup: Setup = wire_up(world, engine)
    iid = await connect_world(setup, "reads failed", ("full",))
    setup.sim.add_fault(
        FaultRule(kind="status", status=403, path="/v3/access_settings/whitelist*")
    )
    for path in ("/v3/sso/*", "/v3/access_settings/activity*"):
        setup.sim.add_fault(FaultRule(kind="status", status=500, path=path))
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    failed = {n for n, r in report.capabilities.items() if r.outcome == "failed"}
    assert {"sso", "ip_allowlist", "access_activity"} <= failed
    assert _findings(engine, iid) == {}
    # Read at last: the findings come.
    setup.sim.clear_faults()
    await run_sync(setup.engine, setup.box, iid, setup.context)
    assert set(_findings(engine, iid)) == _expected(
        setup.world.accounts[0], setup.context.now()
    )


async def test_a_plan_without_sso_any_more_resolves_its_sso_findings(
    engine: Engine,
) -> None:
    """Downgraded to a free plan, SendGrid refuses SSO: the SSO rows an
    earlier sync stored are stale, and their findings resolve."""
    setup: Setup = wire_up(_world(), engine)
    iid = await connect_world(setup, "downgraded", ("full",))
    await run_sync(setup.engine, setup.box, iid, setup.context)
    sso = {
        key: status
        for key, status in _findings(engine, iid).items()
        if key[0] in ("admin_without_sso", "sso_certificate_expiring")
    }
    assert set(sso.values()) == {"open"}
    assert {rule for rule, _ in sso} == {
        "admin_without_sso",
        "sso_certificate_expiring",
    }
    world = load_world(setup.world.to_json())
    world.accounts[0].type = "free"
    setup.sim.replace_world(world)
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.capabilities["sso"].outcome == "unavailable"
    after = _findings(engine, iid)
    assert {key: after[key] for key in sso} == dict.fromkeys(sso, "resolved")


# --- each rule on facts written by hand ------------------------------------------

NOW = dt.datetime(2027, 1, 1, 9, tzinfo=dt.UTC)


def _facts(**values: object) -> Facts:
    return Facts(1, NOW, dict(values))


def test_admins_without_sso_only_while_sso_is_enabled() -> None:
    members = (
        PrivilegedMember("a@x.test", "a@x.test", "a", "admin", False),
        PrivilegedMember("o@x.test", "o@x.test", "o", "owner", False),
        PrivilegedMember("s@x.test", "s@x.test", "s", "admin", True),
        PrivilegedMember("u@x.test", "u@x.test", "u", "admin", None),  # unknown
    )
    on = _facts(sso_setup=SsoSetup(True, ()), privileged_members=members)
    assert [o.subject_key for o in admins_without_sso(on) or []] == [
        "a@x.test",
        "o@x.test",
    ]
    off = _facts(sso_setup=SsoSetup(False, ()), privileged_members=members)
    assert admins_without_sso(off) == []
    unread = _facts(sso_setup=None, privileged_members=members)
    assert admins_without_sso(unread) is None


def test_certificates_within_the_threshold_or_expired() -> None:
    def cert(cert_id: str, days: float | None) -> SsoCertificateFact:
        at = None if days is None else NOW + dt.timedelta(days=days)
        return SsoCertificateFact("sso", "IdP", True, cert_id, at)

    certs = (
        cert("gone", -1),
        cert("edge", 30),
        cert("later", 30.01),
        cert("none", None),
    )
    facts = _facts(sso_setup=SsoSetup(True, certs))
    found = {o.subject_key: o.evidence for o in certificates_expiring(facts) or []}
    assert set(found) == {"sso_certificate:sso:gone", "sso_certificate:sso:edge"}
    assert found["sso_certificate:sso:gone"]["expired"] is True
    assert found["sso_certificate:sso:edge"]["days_left"] == 30
    wider = Facts(1, NOW, facts.values, {SSO_CERTIFICATE_EXPIRING.id: {"days": 31}})
    assert len(certificates_expiring(wider) or []) == 3
    assert certificates_expiring(_facts(sso_setup=None)) is None


def test_no_allowlist_only_when_the_allowlist_was_read_empty() -> None:
    assert [o.subject_key for o in no_allowlist(_facts(allowlist_rules=0)) or []] == [
        "account"
    ]
    assert no_allowlist(_facts(allowlist_rules=2)) == []
    assert no_allowlist(_facts(allowlist_rules=None)) is None


def test_new_addresses_by_their_first_attempt_then_by_smp_first_sighting() -> None:
    def seen(ip: str, first_at_days: float | None, smp_days: float) -> AccessAddress:
        first = (
            None if first_at_days is None else NOW - dt.timedelta(days=first_at_days)
        )
        return AccessAddress(ip, True, "Web", "Oslo", first, NOW,
                             NOW - dt.timedelta(days=smp_days))  # fmt: skip

    addresses = (
        seen("1.1.1.1", 31, 1),  # old to SendGrid, new to SMP: not new
        seen("2.2.2.2", 30, 40),  # on the edge of the window: new
        seen("3.3.3.3", None, 2),  # no first time from SendGrid: SMP's sighting
        seen("4.4.4.4", None, 45),
    )
    facts = _facts(access_addresses=addresses)
    found = new_addresses(facts) or []
    assert [o.subject_key for o in found] == ["ip:2.2.2.2", "ip:3.3.3.3"]
    assert found[0].evidence["teammate"] == "not available from SendGrid"
    longer = Facts(1, NOW, facts.values, {NEW_ACCESS_ADDRESS.id: {"days": 50}})
    assert len(new_addresses(longer) or []) == 4
    assert new_addresses(_facts(access_addresses=None)) is None


def test_each_rule_declares_the_facts_it_reads() -> None:
    from smp.model.rules_access import ACCESS_RULES

    facts = (SSO_SETUP, PRIVILEGED_MEMBERS, ALLOWLIST_RULES, ACCESS_ADDRESSES)
    assert {f.name for rule in ACCESS_RULES for f in rule.needs} == {
        f.name for f in facts
    }
