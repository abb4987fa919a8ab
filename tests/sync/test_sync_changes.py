"""History, failures that keep data, and the request-count formula of docs/sync.md."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.simulator import (
    BASE_URL,
    CONFIRMED_BY,
    Setup,
    connect_world,
    key_of,
    new_key,
    wire_up,
)

from smp.model import EventKind, KeyStatus, MemberStatus, Outcome, Role
from smp.services.key_rules import KeyRefused
from smp.services.onboarding import NewKey, add_key, connect
from smp.simulator import FaultRule, World, generate_world, load_world
from smp.storage import (
    LockBusyError,
    integration_lock,
    list_invoices,
    list_member_events,
    list_members,
    list_service_accounts,
    remove_service_account,
)
from smp.sync import run_sync

_connected = connect_world


def _changed(world: World) -> tuple[World, dict[str, str]]:
    """One teammate removed, one promoted to admin, one invite accepted."""
    changed = load_world(world.to_json())
    account = changed.accounts[0]
    users = [t for t in account.teammates if t["user_type"] == "teammate"]
    removed, promoted = users[0], users[1]
    account.teammates.remove(removed)
    promoted["user_type"], promoted["is_admin"] = "admin", True
    accepted = account.pending.pop(0)
    joined = copy.deepcopy(users[2])
    joined.update(username="newcomer", email=accepted["email"], is_admin=False)
    account.teammates.append(joined)
    return changed, {
        "removed": removed["email"],
        "promoted": promoted["email"],
        "accepted": accepted["email"],
    }


@pytest.fixture
def setup(engine: Engine) -> Setup:
    world = generate_world(seed=11, accounts=1, teammates=25, pending=3, subusers=3)
    return wire_up(world, engine)


async def test_second_sync_records_exactly_the_changes(setup: Setup) -> None:
    iid = await _connected(setup, "history", ("full",))
    await run_sync(setup.engine, setup.box, iid, setup.context)
    with Session(setup.engine) as session:
        before = {e.id for e in list_member_events(session, iid, limit=None)}
    changed, who = _changed(setup.world)
    setup.sim.replace_world(changed)
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.outcome is Outcome.OK
    with Session(setup.engine) as session:
        new = [
            e
            for e in list_member_events(session, iid, limit=None)
            if e.id not in before
        ]
        removed = list_members(session, iid, status=MemberStatus.REMOVED)
    assert sorted((e.kind, e.email) for e in new) == sorted(
        [
            (EventKind.LEFT, who["removed"]),
            (EventKind.ROLE_CHANGED, who["promoted"]),
            (EventKind.INVITE_ACCEPTED, who["accepted"]),
        ]
    )
    promoted = next(e for e in new if e.kind is EventKind.ROLE_CHANGED)
    assert (promoted.old_role, promoted.new_role) == (Role.USER, Role.ADMIN)
    assert [m.email for m in removed] == [who["removed"]]


async def test_revoked_billing_key_keeps_invoices_and_the_rest_syncs(
    setup: Setup,
) -> None:
    iid = await _connected(setup, "revoked billing", ("full", "billing"))
    await run_sync(setup.engine, setup.box, iid, setup.context)
    with Session(setup.engine) as session:
        invoices_before = list_invoices(session, iid)
    assert len(invoices_before) == len(setup.world.accounts[0].invoices)
    billing = key_of(setup.world, "billing")
    setup.sim.add_fault(FaultRule(kind="revoke_after", key_id=billing.key_id, after=0))
    changed, _ = _changed(setup.world)
    setup.sim.replace_world(changed)
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    with Session(setup.engine) as session:
        keys = list_service_accounts(session, iid)
        invoices_after = list_invoices(session, iid)
        active = list_members(session, iid, status=MemberStatus.ACTIVE)
    assert invoices_after == invoices_before
    assert report.capabilities["invoices"].outcome is not Outcome.OK
    assert report.capabilities["members"].outcome is Outcome.OK
    assert {m.email for m in active} == {
        t["email"] for t in changed.accounts[0].teammates
    }
    full_key, billing_key = keys
    assert full_key.status is KeyStatus.OK
    assert billing_key.status is KeyStatus.NEEDS_ATTENTION
    assert "revoked" in (billing_key.last_error or "")


async def test_a_failing_capability_keeps_members_and_marks_the_key(
    setup: Setup,
) -> None:
    iid = await _connected(setup, "members fail", ("full",))
    await run_sync(setup.engine, setup.box, iid, setup.context)
    with Session(setup.engine) as session:
        before = list_members(session, iid)
    setup.sim.add_fault(FaultRule(kind="status", status=503, path="/v3/teammates"))
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.capabilities["members"].outcome is Outcome.FAILED
    assert report.capabilities["usage_credits"].outcome is Outcome.OK
    with Session(setup.engine) as session:
        after = list_members(session, iid)
        (key,) = list_service_accounts(session, iid)
    assert [(m.email, m.status) for m in after] == [(m.email, m.status) for m in before]
    assert key.status is KeyStatus.NEEDS_ATTENTION


def minimum_requests(
    world: World, keys: int, months: int, *, incremental: bool = False
) -> int:
    """docs/sync.md's formulas for one account read by a full + billing key;
    `incremental`: a later sync within a day with nothing sent in between."""
    account = world.accounts[0]
    teammates, subusers = len(account.teammates), len(account.subusers)
    invoices = len(account.invoices)
    stats_pages = months // 500 + 1
    return (
        keys  # GET /v3/scopes per key
        + (0 if incremental else 2)  # identity: user/username + user/account
        + (teammates // 500 + 1)
        + 1  # teammates/pending
        + (subusers // 500 + 1)
        + (0 if incremental else subusers)  # subusers/{name}/credits
        + 1  # user/credits
        + stats_pages
        + -(-subusers // 10) * stats_pages  # subusers/stats, 10 names a call
        + (invoices // 100 + 1)
        # sso/integrations, then each one's certificates (a paid account);
        # access_settings/whitelist; access_settings/activity
        + 1
        + len(account.sso_integrations)
        + 1
        + 1
        + 1  # api_keys, then each key's scopes: api_keys/{id}
        + len([k for k in world.keys if k.account == account.username])
        - len([k for k in world.keys if k.kind == "revoked"])
        # teammates/{username}: everyone is new on the first sync, within the
        # budget of 10 % of 600 (the simulator here sends no limit); nobody is
        # due again within the day.
        + (0 if incremental else min(teammates, 60))
    )


async def test_request_count_is_the_documented_minimum(engine: Engine) -> None:
    world = generate_world(
        seed=5, accounts=1, teammates=1000, pending=20, subusers=10, invoices=24
    )
    setup = wire_up(world, engine)
    iid = await _connected(setup, "request count", ("full", "billing"))
    setup.sim.requests.clear()
    report = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert report.outcome is Outcome.OK
    expected = minimum_requests(world, keys=2, months=setup.context.history_months)
    assert len(setup.sim.requests) == expected
    assert report.requests == expected
    assert {r.method for r in setup.sim.requests} == {"GET"}
    # The same world again: only the open month, no identity, no subuser credits.
    setup.sim.requests.clear()
    again = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert again.outcome is Outcome.OK
    incremental = minimum_requests(world, keys=2, months=1, incremental=True)
    assert len(setup.sim.requests) == again.requests == incremental
    assert incremental <= 0.6 * expected


async def test_keys_are_refused_before_anything_is_stored(setup: Setup) -> None:
    with pytest.raises(KeyRefused, match="invalid, expired or revoked"):
        await _connected(setup, "revoked", ("revoked",))
    with pytest.raises(KeyRefused, match="SG\\."):
        await connect(
            setup.engine,
            setup.box,
            "bad",
            [NewKey("malformed", "SG.x")],
            setup.context,
            base_url=BASE_URL,
        )
    other = generate_world(seed=99, accounts=1)
    iid = await _connected(setup, "one account", ("full",))
    merged = _merged(setup.world, other)
    foreign = key_of(merged, "full", merged.accounts[1])
    setup.sim.replace_world(merged)
    with pytest.raises(KeyRefused, match="belongs to SendGrid account"):
        await add_key(
            setup.engine,
            setup.box,
            "one account",
            new_key(other, "full"),
            setup.context,
        )
    # A billing key cannot read the username: it needs someone to vouch for it.
    for confirmed_by in (None, CONFIRMED_BY):
        added = add_key(
            setup.engine,
            setup.box,
            "one account",
            new_key(setup.world, "billing"),
            setup.context,
            billing_confirmed_by=confirmed_by,
        )
        if confirmed_by:
            await added
            continue
        with pytest.raises(KeyRefused, match="if it belongs to SendGrid account acme0"):
            await added
    with Session(setup.engine) as session:
        stored = [sa.key_id for sa in list_service_accounts(session, iid)]
    assert foreign.key_id not in stored
    assert len(stored) == 2


def _merged(first: World, second: World) -> World:
    merged = load_world(first.to_json())
    extra = load_world(second.to_json().replace('"acme0', '"othercorp0'))
    merged.accounts += extra.accounts
    merged.keys += extra.keys
    return merged


async def test_removed_key_keeps_its_data(setup: Setup) -> None:
    iid = await _connected(setup, "removal", ("full", "billing"))
    await run_sync(setup.engine, setup.box, iid, setup.context)
    with Session(setup.engine) as session, session.begin():
        billing = list_service_accounts(session, iid)[1]
        remove_service_account(session, billing.id)
    with Session(setup.engine) as session:
        invoices = list_invoices(session, iid)
    assert len(invoices) == len(setup.world.accounts[0].invoices)
    assert all(i.source_removed for i in invoices)


async def test_a_held_lock_stops_a_second_sync(setup: Setup) -> None:
    iid = await _connected(setup, "locked", ("full",))
    with integration_lock(setup.engine, iid), pytest.raises(LockBusyError):
        await run_sync(setup.engine, setup.box, iid, setup.context)
