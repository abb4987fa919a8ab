"""Acceptance on the simulator: a world set up to meet this module's rules is
synced and gives exactly the findings it states; changed through the control
surface and synced again, exactly those resolve.

The world is generated, then its teammates, invites, one subuser's sends and
the account's credits are set by hand; what each rule must find is read off
those values below, not from SMP.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine
from tests.support.simulator import Setup, synced, wire_up

from smp.services.findings import list_findings
from smp.simulator import World, generate_world, load_world
from smp.sync import run_sync

# The rules of this module: the keys and access rules have their own tests.
MINE = {
    "too_many_admins",
    "expired_invite",
    "idle_subuser",
    "credits_running_out",
    "key_needs_attention",
}
DAY = dt.timedelta(days=1)
# In mixed case: the finding's key is the address in lower case.
EXPIRED_INVITE = "Late.Invitee@Example.com"
# Storage runs on both databases in test_rules_storage; one sync path here.
pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def _epoch(day: dt.date, days: int) -> int:
    moment = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC) + days * DAY
    return int(moment.timestamp())


def _world() -> World:
    world = generate_world(seed=31, accounts=1, teammates=10, pending=2, subusers=2)
    today = world.today_date()
    account = world.accounts[0]
    # 4 admins of 10 teammates: 40 %, over the default 30 %.
    others = [t for t in account.teammates if t["user_type"] != "owner"]
    for index, mate in enumerate(others):
        mate["user_type"] = "admin" if index < 4 else "teammate"
        mate["is_admin"] = index < 4
    assert sum(t["user_type"] == "admin" for t in account.teammates) == 4
    # One invite expired 10 days ago (over 7), the other expires in 5 days.
    account.pending[0]["expiration_date"] = _epoch(today, -10)
    account.pending[0]["email"] = EXPIRED_INVITE
    account.pending[1]["expiration_date"] = _epoch(today, 5)
    # The first subuser never sent; the second did.
    for stat in account.subusers[0].daily_stats:
        stat["metrics"] = dict.fromkeys(stat["metrics"], 0)  # type: ignore[typeddict-item]
    # Subusers' credits have no reset date: only used-up ones are reported.
    account.subusers[0].credits = {
        "type": "unlimited",
        "reset_frequency": None,
        "remain": None,
        "total": None,
        "used": None,
    }
    account.subusers[1].credits = {
        "type": "recurring",
        "reset_frequency": "monthly",
        "remain": 0,
        "total": 1000,
        "used": 1000,
    }
    # 900 of 1,000 used 10 days into a 30-day period: 2,700 by the reset.
    account.credits.update(
        total=1000,
        used=900,
        remain=100,
        overage=0,
        last_reset=(today - 10 * DAY).isoformat(),
        next_reset=(today + 20 * DAY).isoformat(),
        reset_frequency="monthly",
    )
    return world


def _findings(setup: Setup, name: str, status: str) -> dict[tuple[str, str], str]:
    """(rule, subject key) -> subject label of this module's findings."""
    return {
        (f.rule, f.subject_key): f.subject_label
        for f in list_findings(setup.engine, integration=name).items
        if f.rule in MINE and f.status == status
    }


@pytest.fixture
def setup(engine: Engine) -> Setup:
    return wire_up(_world(), engine)


async def test_world_findings_then_resolutions(setup: Setup) -> None:
    name = "world findings"
    iid = await synced(setup, name)
    account = setup.world.accounts[0]
    idle = account.subusers[0].username
    found = _findings(setup, name, "open")
    assert {rule for rule, _ in found} == {
        "too_many_admins",
        "expired_invite",
        "idle_subuser",
        "credits_running_out",
    }
    out = f"subuser:{account.subusers[1].username}"
    assert set(found) == {
        ("too_many_admins", "account"),
        ("idle_subuser", idle),
        ("credits_running_out", "account"),
        ("credits_running_out", out),
        ("expired_invite", "late.invitee@example.com"),
    }
    assert found[("too_many_admins", "account")] == (
        "4 of 10 teammates are admins (40.0 %)"
    )
    assert found[("credits_running_out", "account")] == "the account"
    assert found[("idle_subuser", idle)] == idle
    assert found[("expired_invite", "late.invitee@example.com")] == EXPIRED_INVITE

    changed = load_world(setup.world.to_json())
    account = changed.accounts[0]
    account.pending = account.pending[1:]
    # 3 admins of 10: 30 %, not over 30 %.
    demoted = next(t for t in account.teammates if t["user_type"] == "admin")
    demoted["user_type"], demoted["is_admin"] = "teammate", False
    account.subusers[0].daily_stats[-1]["metrics"]["requests"] = 3
    account.credits.update(used=100, remain=900)
    # Its credits raised to 2,000; SMP reads a subuser's credits again when
    # its sends change (smp.sync.freshness), so it sent a little more too.
    account.subusers[1].credits.update(total=2000, used=1000, remain=1000)
    account.subusers[1].daily_stats[-1]["metrics"]["requests"] += 1
    setup.sim.replace_world(changed)
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.outcome.value == "ok", report.to_json()
    assert set(_findings(setup, name, "resolved")) == set(found)
    assert _findings(setup, name, "open") == {}
