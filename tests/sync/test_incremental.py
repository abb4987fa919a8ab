"""Incremental syncs (ADR 12): what changed in the world arrives, what is
knowingly left stale is stale for at most `refresh_after`, and keys are
still checked on every sync."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.simulator import ROLE, Setup, key_of, wire_up
from tests.support.simulator import synced as _synced

from smp.model import KeyStatus, MemberStatus, Outcome, month_start
from smp.simulator import FaultRule, World, generate_world, load_world
from smp.simulator.world import Account
from smp.storage import (
    current_usage,
    get_identity,
    list_invoices,
    list_members,
    list_monthly_volumes,
    list_service_accounts,
    list_subusers,
)
from smp.sync import run_sync


@pytest.fixture
def setup(engine: Engine) -> Setup:
    world = generate_world(
        seed=21, accounts=1, teammates=60, pending=3, subusers=12, invoices=5
    )
    return wire_up(world, engine)


def _paths(setup: Setup) -> list[str]:
    return [r.path for r in setup.sim.requests]


def _send(account: Account, today: str, subuser: str | None, count: int) -> None:
    """`count` more emails today, from a subuser (or the parent account)."""
    days = account.daily_stats
    if subuser is not None:
        sub = next(s for s in account.subusers if s.username == subuser)
        days = sub.daily_stats
        sub.credits["used"] += count
        sub.credits["remain"] -= count
    account.credits["used"] += count
    account.credits["remain"] -= count
    day = next((d for d in days if d["date"] == today), None)
    if day is None:
        zero = dict.fromkeys(days[0]["metrics"], 0)
        day = {"date": today, "metrics": zero}  # type: ignore[typeddict-item]
        days.append(day)  # type: ignore[arg-type]
    for metric in ("requests", "processed", "delivered"):
        day["metrics"][metric] += count  # type: ignore[literal-required]


def _month_requests(account: Account, today: dt.date, subuser: str | None) -> int:
    days = account.daily_stats
    if subuser is not None:
        days = next(s for s in account.subusers if s.username == subuser).daily_stats
    month = month_start(today).isoformat()[:7]
    return sum(d["metrics"]["requests"] for d in days if d["date"][:7] == month)


def _changed_world(world: World) -> tuple[World, str]:
    """Members added, removed and promoted, a new invite, a new invoice, and
    sends this month by the account and by one subuser."""
    changed = load_world(world.to_json())
    account = changed.accounts[0]
    users = [t for t in account.teammates if t["user_type"] == "teammate"]
    account.teammates.remove(users[0])
    users[1]["user_type"], users[1]["is_admin"] = "admin", True
    newcomer = copy.deepcopy(users[2])
    newcomer.update(username="newcomer", email="newcomer@example.org")
    account.teammates.append(newcomer)
    invite = copy.deepcopy(account.pending[0])
    invite.update(email="invited@example.org", token="tok-new-invite")
    account.pending.append(invite)
    invoice = copy.deepcopy(account.invoices[0])
    invoice.update(id="inv-new-1", invoice_number="NEW-1", amount=123.45)
    account.invoices.insert(0, invoice)
    sender = account.subusers[4].username
    _send(account, changed.today, None, 70)
    _send(account, changed.today, sender, 500)
    return changed, sender


async def test_changes_in_the_world_reach_an_incremental_sync(setup: Setup) -> None:
    iid = await _synced(setup, "changes")
    changed, sender = _changed_world(setup.world)
    setup.sim.replace_world(changed)
    setup.sim.requests.clear()
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.outcome is Outcome.OK, report.to_json()
    # Only the subuser that sent has its credits read again.
    credits_paths = [p for p in _paths(setup) if p.endswith("/credits")]
    assert sorted(credits_paths) == sorted(
        ["/v3/user/credits", f"/v3/subusers/{sender}/credits"]
    )
    account, today = changed.accounts[0], changed.today_date()
    with Session(setup.engine) as session:
        active = list_members(session, iid, status=MemberStatus.ACTIVE)
        pending = list_members(session, iid, status=MemberStatus.PENDING)
        invoices = list_invoices(session, iid)
        usage = current_usage(session, iid)
        subusers = list_subusers(session, iid)
        volumes = list_monthly_volumes(session, iid, all_subusers=True, since=today)
    assert {(m.email, m.role) for m in active} == {
        (t["email"], ROLE[t["user_type"]]) for t in account.teammates
    }
    assert {m.email for m in pending} == {p["email"] for p in account.pending}
    assert {i.invoice_id: i.amount for i in invoices} == {
        i["id"]: Decimal(str(i["amount"])) for i in account.invoices
    }
    assert usage is not None
    assert usage.period.used == account.credits["used"]
    assert {s.username: (s.credits_used, s.credits_remain) for s in subusers} == {
        s.username: (s.credits["used"], s.credits["remain"]) for s in account.subusers
    }
    this_month = {v.subuser: v.metrics.requests for v in volumes}
    assert this_month[None] == _month_requests(account, today, None)
    assert this_month[sender] == _month_requests(account, today, sender)


def _later(setup: Setup, minutes: int) -> None:
    base = setup.context.now()
    setup.context.now = lambda: base + dt.timedelta(minutes=minutes)


async def test_what_an_incremental_sync_leaves_stale_and_for_how_long(
    setup: Setup,
) -> None:
    setup.context.refresh_after = dt.timedelta(hours=1)
    iid = await _synced(setup, "stale")
    changed = load_world(setup.world.to_json())
    account = changed.accounts[0]
    quiet = account.subusers[7]
    # No sends: an allowance raised and a plan changed are invisible to volume.
    quiet.credits["total"] += 1000
    quiet.credits["remain"] += 1000
    account.type = "free" if account.type == "paid" else "paid"
    setup.sim.replace_world(changed)

    def stored() -> tuple[int | None, str | None]:
        with Session(setup.engine) as session:
            subuser = next(
                s for s in list_subusers(session, iid) if s.username == quiet.username
            )
            identity = get_identity(session, iid)
        assert identity is not None
        return subuser.credits_total, identity.account_type

    old_total = quiet.credits["total"] - 1000
    old_type = setup.world.accounts[0].type
    _later(setup, 50)
    await run_sync(setup.engine, setup.box, iid, setup.context)
    assert stored() == (old_total, old_type)
    _later(setup, 61)
    setup.sim.requests.clear()
    await run_sync(setup.engine, setup.box, iid, setup.context)
    assert stored() == (quiet.credits["total"], account.type)
    # Past the window every subuser's credits and the identity are re-read.
    paths = _paths(setup)
    subuser_credits = [p for p in paths if p.startswith("/v3/subusers/")]
    subuser_credits = [p for p in subuser_credits if p.endswith("/credits")]
    assert len(subuser_credits) == len(account.subusers)
    assert {"/v3/user/username", "/v3/user/account"} <= set(paths)


async def test_every_incremental_sync_still_checks_every_key(setup: Setup) -> None:
    iid = await _synced(setup, "keys")
    full, billing = key_of(setup.world, "full"), key_of(setup.world, "billing")
    changed = load_world(setup.world.to_json())
    lost = "user.account.read"
    changed_full = key_of(changed, "full")
    changed_full.scopes = [s for s in changed_full.scopes if s != lost]
    setup.sim.replace_world(changed)
    setup.sim.add_fault(FaultRule(kind="revoke_after", key_id=billing.key_id, after=0))
    setup.sim.add_fault(
        FaultRule(kind="status", status=403, path="/v3/teammates", key_id=full.key_id)
    )
    setup.sim.requests.clear()
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert [p for p in _paths(setup) if p == "/v3/scopes"] == ["/v3/scopes"] * 2
    # The identity was fresh, but its key lost a scope: it is not read, and
    # the stored identity is not passed off as this sync's.
    assert report.capabilities["account_identity"].outcome is Outcome.SKIPPED
    assert report.capabilities["members"].outcome is Outcome.FAILED
    assert report.capabilities["invoices"].outcome is not Outcome.OK
    with Session(setup.engine) as session:
        full_key, billing_key = list_service_accounts(session, iid)
    assert full_key.missing["account_identity"] == [lost]
    assert full_key.status is KeyStatus.NEEDS_ATTENTION
    assert "HTTP 403" in (full_key.last_error or "")
    assert billing_key.status is KeyStatus.NEEDS_ATTENTION
    assert "revoked" in (billing_key.last_error or "")


async def test_credits_that_failed_after_the_volume_was_written_are_read_again(
    setup: Setup,
) -> None:
    iid = await _synced(setup, "basis")
    changed = load_world(setup.world.to_json())
    account = changed.accounts[0]
    sender = account.subusers[2].username
    _send(account, changed.today, sender, 250)
    setup.sim.replace_world(changed)
    setup.sim.add_fault(
        FaultRule(kind="status", status=503, path=f"/v3/subusers/{sender}/credits")
    )
    failed = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert failed.capabilities["subusers"].outcome is Outcome.FAILED
    assert failed.capabilities["usage_volume"].outcome is Outcome.OK
    setup.sim.clear_faults()
    # The stored volume already shows the sends; the credits must still follow.
    setup.sim.requests.clear()
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.outcome is Outcome.OK
    assert f"/v3/subusers/{sender}/credits" in _paths(setup)
    with Session(setup.engine) as session:
        stored = {s.username: s.credits_used for s in list_subusers(session, iid)}
    assert stored == {s.username: s.credits["used"] for s in account.subusers}
