"""Ground truth: the key inventory and teammates' scopes a sync stores are the
simulator world's; narrowing a key through the control surface shows as a
scope change at the next sync; teammates' scopes are read in budgeted turns.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.support.simulator import Setup, synced, wire_up

from smp.model import Outcome
from smp.simulator import World, generate_world, load_world
from smp.storage.api_keys import list_api_keys, list_teammate_scopes, scope_history
from smp.sync import run_sync

FLAGS = ("2fa_required", "2fa_exempt")


def _keys_of(world: World) -> dict[str, tuple[str, tuple[str, ...]]]:
    """key id -> (name, scopes) of the account's keys SendGrid still lists."""
    username = world.accounts[0].username
    return {
        k.key_id: (k.name, tuple(sorted(k.scopes)))
        for k in world.keys
        if k.account == username and k.kind != "revoked"
    }


def _mates_of(world: World) -> dict[str, tuple[str, tuple[str, ...], bool, bool]]:
    return {
        t["username"]: (
            t["user_type"],
            tuple(sorted(s for s in t["scopes"] if s not in FLAGS)),
            "2fa_required" in t["scopes"],
            "2fa_exempt" in t["scopes"],
        )
        for t in world.accounts[0].teammates
    }


def _stored(setup: Setup, iid: int) -> tuple[dict[str, object], dict[str, object]]:
    with Session(setup.engine) as session:
        keys = {
            k.key_id: (k.name, tuple(sorted(k.scopes)))
            for k in list_api_keys(session, iid)
        }
        mates = {
            m.username: (
                m.user_type,
                m.scopes,
                m.two_factor_required,
                m.two_factor_exempt,
            )
            for m in list_teammate_scopes(session, iid)
        }
    return keys, mates


@pytest.fixture
def setup(engine: Engine) -> Setup:
    world = generate_world(seed=17, accounts=1, teammates=12, pending=1, subusers=1)
    return wire_up(world, engine)


async def test_inventory_and_scopes_are_the_worlds_and_follow_its_changes(
    setup: Setup,
) -> None:
    iid = await synced(setup, "key inventory")
    keys, mates = _stored(setup, iid)
    assert keys == _keys_of(setup.world)
    assert len(keys) == 4  # full, restricted, billing, validation
    assert mates == _mates_of(setup.world)
    assert sum(m[3] for m in mates.values()) == 2  # exempt: the 5th and 12th

    # Through the control surface: the full key narrowed to its read scopes
    # (what SMP reads stays), the restricted key deleted, a teammate promoted
    # to admin with other scopes.
    changed = load_world(setup.world.to_json())
    username = changed.accounts[0].username
    full = next(k for k in changed.keys if k.account == username and k.kind == "full")
    before = set(full.scopes)
    full.scopes = sorted(s for s in before if s.endswith(".read"))
    changed.keys = [k for k in changed.keys if k.kind != "restricted"]
    mate = next(
        t for t in changed.accounts[0].teammates if t["user_type"] == "teammate"
    )
    mate["user_type"], mate["is_admin"] = "admin", True
    mate["scopes"] = ["2fa_exempt", "teammates.read"]
    setup.sim.replace_world(changed)
    again = await run_sync(setup.engine, setup.box, iid, setup.context)
    assert again.outcome is Outcome.OK, again.to_json()

    keys, mates = _stored(setup, iid)
    assert keys == _keys_of(changed)
    assert mates == _mates_of(changed)
    with Session(setup.engine) as session:
        history = [c for _, c in scope_history(session, iid, full.key_id)]
        everything = list_api_keys(session, iid, include_removed=True)
    assert [c.change for c in history] == ["first_seen", "changed"]
    assert history[1].added == ()
    assert set(history[1].removed) == {s for s in before if not s.endswith(".read")}
    assert {"api_keys.delete", "mail.send", "2fa_required"} <= set(history[1].removed)
    gone = [k for k in everything if not k.present]
    assert [k.name for k in gone] == [f"restricted key ({username})"]
    narrowed = next(k for k in everything if k.key_id == full.key_id)
    assert narrowed.full_access is False
    assert narrowed.write_scopes == []


async def test_teammate_scopes_are_read_in_turns_within_the_budget(
    setup: Setup,
) -> None:
    # A budget of 5 (5/600 of the 600 assumed when SendGrid sends no limit).
    setup.context.teammate_scope_share = 5 / 600
    start = setup.context.now()
    iid = await synced(setup, "scope turns")
    everyone = set(_mates_of(setup.world))

    def read_at() -> dict[str, dt.datetime]:
        with Session(setup.engine) as session:
            return {
                m.username: m.fetched_at for m in list_teammate_scopes(session, iid)
            }

    async def sync_at(hours: float) -> list[str]:
        """Sync `hours` after the first; the teammates whose scopes it read."""
        moment = start + dt.timedelta(hours=hours)
        setup.context.now = lambda: moment
        setup.sim.requests.clear()
        report = await run_sync(setup.engine, setup.box, iid, setup.context)
        assert report.outcome is Outcome.OK, report.to_json()
        listing = "/v3/teammates/pending"
        return sorted(
            r.path.removeprefix("/v3/teammates/")
            for r in setup.sim.requests
            if r.path.startswith("/v3/teammates/") and r.path != listing
        )

    first = set(read_at())
    assert len(first) == 5
    # Right after: nothing changed, nobody is due.
    assert await sync_at(0) == []
    # Half a day on, the rotation takes ⌈12 × 12/24⌉ = 6, cut to the budget:
    # five of the seven never read.
    half = await sync_at(12)
    assert len(half) == 5
    assert not set(half) & first
    # A day on: the two still unread come first, then the three read longest
    # ago (the first sync's, by name).
    day = await sync_at(24)
    assert set(read_at()) == everyone
    assert set(day) == (everyone - first - set(half)) | set(sorted(first)[:3])
    # A teammate promoted and one who joined are read at the next sync.
    changed = load_world(setup.world.to_json())
    mates = changed.accounts[0].teammates
    promoted = next(t for t in mates if t["user_type"] == "teammate")
    promoted["user_type"], promoted["is_admin"] = "admin", True
    newcomer = dict(mates[-1], username="newcomer", email="newcomer@example.com")
    mates.append(newcomer)  # type: ignore[arg-type]
    setup.sim.replace_world(changed)
    # An hour on: they, and the rotation's ⌈13 × 1/24⌉ = 1 read longest ago.
    got = await sync_at(25)
    assert {promoted["username"], "newcomer"} < set(got)
    assert len(got) == 3
