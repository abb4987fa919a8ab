"""Member history as SMP can honestly tell it, against the simulated world.

The first sync records one baseline (SendGrid does not say when anyone
joined); later syncs record each change, an invite's expiry at its real
expiration date; and a teammates list that cannot be the account's real one
is refused without removing anyone.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.simulator import Setup, connect_world, wire_up

from smp.model import EventKind, MemberEvent, MemberStatus, Outcome
from smp.simulator import FaultRule, World, generate_world, load_world
from smp.simulator.world import PendingInvite
from smp.storage import count_invites, list_member_events, list_members
from smp.sync import run_sync

# Between the two syncs: long enough for the generator's 4-6.5-day-old invites
# to expire, too short for the ones under 2.5 days old.
GAP = dt.timedelta(days=4)


@pytest.fixture
def setup(engine: Engine) -> Setup:
    # No subusers: a subuser's simulated tenant borrows the account owner's
    # record, and one test lists no teammates at all.
    world = generate_world(
        seed=17, accounts=1, teammates=20, pending=6, subusers=0, months=2, invoices=0
    )
    return wire_up(world, engine)


async def _connected(setup: Setup, name: str) -> int:
    return await connect_world(setup, name, ("full",))


def _events(setup: Setup, iid: int) -> list[MemberEvent]:
    with Session(setup.engine) as session:
        return list_member_events(session, iid, limit=None)


def _expiry(invite: PendingInvite) -> dt.datetime:
    return dt.datetime.fromtimestamp(invite["expiration_date"], tz=dt.UTC)


def _later(setup: Setup, gap: dt.timedelta) -> dt.datetime:
    """Move SMP's clock and the simulator's day on by `gap`; the new now.

    The simulator grows the world it serves to the new day itself.
    """
    now = setup.context.now() + gap
    setup.context.now = lambda: now
    setup.sim.pinned_today = now.date()
    return now


async def test_first_sync_records_one_baseline_and_no_member_events(
    setup: Setup,
) -> None:
    iid = await _connected(setup, "baseline")
    now = setup.context.now()
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.capabilities["members"].outcome is Outcome.OK
    assert report.capabilities["invites"].outcome is Outcome.OK
    account = setup.world.accounts[0]
    (baseline,) = _events(setup, iid)
    assert baseline.kind is EventKind.BASELINE
    assert baseline.member_key is None
    assert baseline.occurred_at == now
    assert (baseline.members_found, baseline.invites_found) == (
        len(account.teammates),
        len(account.pending),
    )
    assert baseline.baseline_text == (
        f"{len(account.teammates)} members and {len(account.pending)} invites found"
    )
    with Session(setup.engine) as session:
        members = list_members(session, iid)
    assert {m.first_seen for m in members} == {now}


def _changed(world: World, now: dt.datetime) -> tuple[World, list[tuple[str, str]]]:
    """A teammate joins, one leaves, an open invite is accepted: (kind, email)s."""
    changed = load_world(world.to_json())
    account = changed.accounts[0]
    users = [t for t in account.teammates if t["user_type"] == "teammate"]
    leaver = users[0]
    account.teammates.remove(leaver)
    accepted = next(p for p in account.pending if _expiry(p) > now)
    account.pending.remove(accepted)
    newcomer = copy.deepcopy(users[1])
    newcomer.update(username="newcomer", email="newcomer@elsewhere.example")
    convert = copy.deepcopy(users[1])
    convert.update(username="convert", email=accepted["email"])
    account.teammates += [newcomer, convert]
    return changed, [
        (EventKind.LEFT, leaver["email"]),
        (EventKind.JOINED, newcomer["email"]),
        (EventKind.INVITE_ACCEPTED, accepted["email"]),
    ]


async def test_second_sync_records_each_change_at_its_time(setup: Setup) -> None:
    iid = await _connected(setup, "changes")
    first = setup.context.now()
    await run_sync(setup.engine, setup.box, iid, setup.context)
    (baseline,) = _events(setup, iid)
    changed, expected = _changed(setup.world, first)
    second = _later(setup, GAP)
    setup.sim.replace_world(changed)
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.capabilities["members"].outcome is Outcome.OK
    assert report.capabilities["invites"].outcome is Outcome.OK

    pending = changed.accounts[0].pending
    expired_between = [p for p in pending if first < _expiry(p) <= second]
    assert expired_between, "the world should have invites expiring in the gap"
    new = [e for e in _events(setup, iid) if e.id != baseline.id]
    assert sorted((e.kind, e.email or "") for e in new) == sorted(
        expected + [(EventKind.INVITE_EXPIRED, p["email"]) for p in expired_between]
    )
    for event in new:
        if event.kind is EventKind.INVITE_EXPIRED:
            invite = next(p for p in expired_between if p["email"] == event.email)
            assert event.occurred_at == _expiry(invite)
        else:
            assert event.occurred_at == second

    with Session(setup.engine) as session:
        counts = count_invites(session, iid, second)
        removed = list_members(session, iid, status=MemberStatus.REMOVED)
    assert counts.open == sum(_expiry(p) > second for p in pending)
    assert counts.expired == sum(_expiry(p) <= second for p in pending)
    assert counts.open + counts.expired == len(pending)
    assert [(m.email, m.removed_at) for m in removed] == [(expected[0][1], second)]


@pytest.mark.parametrize(
    ("failing", "unread"),
    [("/v3/teammates/pending", "invites"), ("/v3/teammates", "members")],
)
async def test_a_listing_first_read_later_joins_the_one_baseline(
    setup: Setup, failing: str, unread: str
) -> None:
    iid = await _connected(setup, f"late {unread}")
    setup.sim.add_fault(FaultRule(kind="status", status=503, path=failing))
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.capabilities[unread].outcome is Outcome.FAILED
    account = setup.world.accounts[0]
    teammates, invites = len(account.teammates), len(account.pending)
    (baseline,) = _events(setup, iid)
    if unread == "invites":
        assert (baseline.members_found, baseline.invites_found) == (teammates, None)
        assert baseline.baseline_text == (
            f"{teammates} members found; invites not read yet"
        )
    else:
        assert (baseline.members_found, baseline.invites_found) == (None, invites)
        assert (
            baseline.baseline_text == f"{invites} invites found; members not read yet"
        )

    setup.sim.clear_faults()
    _later(setup, dt.timedelta(days=1))
    setup.sim.replace_world(setup.world)
    again = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert again.capabilities[unread].outcome is Outcome.OK
    # Still the one baseline, now complete; no event per member or invite.
    (complete,) = _events(setup, iid)
    assert complete.id == baseline.id
    assert complete.occurred_at == baseline.occurred_at
    assert (complete.members_found, complete.invites_found) == (teammates, invites)


def _without_owner(world: World) -> World:
    changed = load_world(world.to_json())
    teammates = changed.accounts[0].teammates
    teammates.remove(next(t for t in teammates if t["user_type"] == "owner"))
    return changed


def _empty(world: World) -> World:
    changed = load_world(world.to_json())
    changed.accounts[0].teammates.clear()
    return changed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_empty, "teammates list came back empty; nothing was marked removed"),
        (
            _without_owner,
            "teammates list came back without the owner; nothing was marked removed",
        ),
    ],
)
async def test_a_suspicious_teammates_list_removes_no_one(
    setup: Setup, change: Callable[[World], World], message: str
) -> None:
    iid = await _connected(setup, f"suspicious{change.__name__}")
    await run_sync(setup.engine, setup.box, iid, setup.context)
    with Session(setup.engine) as session:
        before = list_members(session, iid)
    events_before = _events(setup, iid)
    setup.sim.replace_world(change(setup.world))
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    members = report.capabilities["members"]
    assert members.outcome is Outcome.FAILED
    assert members.error == message
    with Session(setup.engine) as session:
        after = list_members(session, iid)
    assert [(m.email, m.status, m.removed_at) for m in after] == [
        (m.email, m.status, m.removed_at) for m in before
    ]
    assert _events(setup, iid) == events_before
    # The whole world listed again: accepted, and still nothing to report.
    setup.sim.replace_world(setup.world)
    healed = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert healed.capabilities["members"].outcome is Outcome.OK
    assert _events(setup, iid) == events_before
