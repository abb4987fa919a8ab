"""Remediation verified by later syncs, on SQLite and PostgreSQL.

Revoke and modify decisions stay `pending` until a sync sees them carried out
in SendGrid: the simulator's control surface (`POST /_sim/world`) removes a
teammate, an invite and a subuser and raises a teammate to admin, and the
next sync verifies each, dated when SMP saw it. A revoke still not carried
out after the threshold's days becomes `overdue` and opens the finding
`review_not_carried_out`, which resolves once a sync sees the removal.
Expected values come from the world and literals.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.reviews.world import ADMIN
from tests.support.simulator import BASE_URL, Setup, synced, wire_up

from smp.model import Outcome
from smp.model.reviews import ReviewerRule
from smp.services import reviews
from smp.simulator import World, generate_world
from smp.storage.review_remediation import check_remediation
from smp.storage.tables import FindingRow, ReviewItemRow
from smp.sync.context import default_limiter
from smp.sync.engine import run_sync

RULE = "review_not_carried_out"
DECIDED = dt.datetime(2026, 12, 30, 9, 0, tzinfo=dt.UTC)
# Syncs across a year end: two days after the decisions, eight, then nine.
FIRST = DECIDED + dt.timedelta(days=2)  # 2027-01-01 09:00
LATE = DECIDED + dt.timedelta(days=8, hours=1)
LAST = DECIDED + dt.timedelta(days=9)
# The accounts come back in SendGrid; the wait starts again from that sync.
BACK = LAST + dt.timedelta(days=3)  # 2027-01-11 09:00
BACK_LATE = BACK + dt.timedelta(days=7)


@dataclass
class Scene:
    setup: Setup
    integration_id: int
    campaign_id: int
    clock: dict[str, dt.datetime]
    # role in the scene -> the item's id
    items: dict[str, int]
    world: World


def _pick(world: World) -> dict[str, Any]:
    account = world.accounts[0]
    plain = [t for t in account.teammates if t["user_type"] == "teammate"]
    assert len(plain) >= 3, "the world needs three plain teammates"
    return {
        "removed": plain[0],
        "raised": plain[1],
        "stays": plain[2],
        "invite": account.pending[0],
        "subuser": account.subusers[0],
    }


def _key(row: ReviewItemRow) -> str:
    return row.username if row.account_kind == "subuser" else (row.email or "")


def _items(engine: Engine, campaign_id: int) -> list[ReviewItemRow]:
    with Session(engine, expire_on_commit=False) as session:
        rows = list(
            session.scalars(
                select(ReviewItemRow).where(ReviewItemRow.campaign_id == campaign_id)
            )
        )
        session.expunge_all()
    return rows


def _by_id(engine: Engine, campaign_id: int) -> dict[int, ReviewItemRow]:
    return {row.id: row for row in _items(engine, campaign_id)}


def _changed_world(world: World, picked: dict[str, Any], *, stays: bool) -> World:
    """The world after someone acted in SendGrid's UI."""
    changed = world.model_copy(deep=True)
    account = changed.accounts[0]
    gone = {picked["removed"]["username"]}
    if not stays:
        gone.add(picked["stays"]["username"])
    account.teammates = [t for t in account.teammates if t["username"] not in gone]
    for mate in account.teammates:
        if mate["username"] == picked["raised"]["username"]:
            mate["user_type"] = "admin"
            mate["is_admin"] = True
    account.pending = [
        p for p in account.pending if p["email"] != picked["invite"]["email"]
    ]
    sub_id = picked["subuser"].id
    account.subusers = [s for s in account.subusers if s.id != sub_id]
    account.subuser_access = {
        name: [a for a in access if a["subuser_id"] != sub_id]
        for name, access in account.subuser_access.items()
        if name not in gone
    }
    return changed


async def _post_world(setup: Setup, world: World) -> None:
    """Through the simulator's control surface, as an operator would."""
    async with httpx.AsyncClient(
        transport=setup.sim.transport(), base_url=BASE_URL
    ) as client:
        answer = await client.post("/_sim/world", content=world.to_json())
        assert answer.status_code == 200, answer.text


def _sync(scene: Scene, when: dt.datetime) -> None:
    scene.clock["now"] = when
    setup = scene.setup
    # A limiter of this event loop's own: asyncio's locks bind to one loop.
    context = replace(setup.context, limiter=default_limiter())
    report = asyncio.run(
        run_sync(setup.engine, setup.box, scene.integration_id, context)
    )
    # Only the accounts matter here (the world's own dates bound its stats).
    for capability in ("members", "invites", "subusers"):
        outcome = report.capabilities[capability].outcome
        assert outcome in (Outcome.OK, Outcome.SKIPPED), report.to_json()


def _findings(engine: Engine, integration_id: int) -> dict[str, FindingRow]:
    with Session(engine, expire_on_commit=False) as session:
        rows = list(
            session.scalars(
                select(FindingRow).where(
                    FindingRow.integration_id == integration_id, FindingRow.rule == RULE
                )
            )
        )
        session.expunge_all()
    return {row.subject_key: row for row in rows}


@pytest.fixture(scope="module")
def scene(engine: Engine) -> Scene:
    world = generate_world(seed=43, accounts=1, teammates=6, pending=2, subusers=2)
    setup = wire_up(world, engine)
    clock = {"now": DECIDED - dt.timedelta(days=1)}
    setup.context.now = lambda: clock["now"]
    iid = asyncio.run(synced(setup, "remediation world"))
    made = reviews.create_campaign(
        engine,
        name="Year-end review",
        integrations=["remediation world"],
        due=dt.date(2026, 12, 31),
        rule=ReviewerRule.OWNER,
        actor=ADMIN,
        now=clock["now"],
    )
    picked = _pick(world)
    rows = {_key(row): row.id for row in _items(engine, made.id)}
    items = {
        "removed": rows[picked["removed"]["email"].lower()],
        "raised": rows[picked["raised"]["email"].lower()],
        "stays": rows[picked["stays"]["email"].lower()],
        "invite": rows[picked["invite"]["email"].lower()],
        "subuser": rows[picked["subuser"].username],
    }
    for role in ("removed", "stays", "invite", "subuser"):
        reviews.decide(
            engine, made.id, ADMIN, "revoke", item_ids=[items[role]],
            reason="no longer needed", now=DECIDED,
        )  # fmt: skip
    reviews.decide(
        engine, made.id, ADMIN, "modify", item_ids=[items["raised"]],
        new_role="admin", reason="runs the account now", now=DECIDED,
    )  # fmt: skip
    reviews.decide(
        engine, made.id, ADMIN, "keep", expression="decision=none", now=DECIDED
    )
    scene = Scene(setup, iid, made.id, clock, items, world)
    asyncio.run(_post_world(setup, _changed_world(world, picked, stays=True)))
    return scene


def test_a_sync_verifies_each_change_made_in_sendgrid(scene: Scene) -> None:
    engine = scene.setup.engine
    before = _by_id(engine, scene.campaign_id)
    assert {before[i].remediation for i in scene.items.values()} == {"pending"}
    _sync(scene, FIRST)
    after = _by_id(engine, scene.campaign_id)
    for role in ("removed", "raised", "invite", "subuser"):
        row = after[scene.items[role]]
        assert row.remediation == "verified", role
        # Seen by the sync on 2027-01-01 at 09:00: removed or changed by then.
        assert row.remediation_verified_at == FIRST, role
        assert row.remediation_checked_at == FIRST, role
    stays = after[scene.items["stays"]]
    assert (stays.remediation, stays.remediation_verified_at) == ("pending", None)
    assert stays.remediation_checked_at == FIRST
    # Kept items have nothing to verify.
    kept = [r for r in after.values() if r.decision == "keep"]
    assert kept
    assert {r.remediation for r in kept} == {"none"}
    # Two days are within the 7-day threshold: no finding yet.
    assert _findings(engine, scene.integration_id) == {}


def test_still_present_after_the_threshold_is_a_finding(scene: Scene) -> None:
    engine = scene.setup.engine
    _sync(scene, LATE)
    stays = _by_id(engine, scene.campaign_id)[scene.items["stays"]]
    assert stays.remediation == "overdue"
    found = _findings(engine, scene.integration_id)
    assert set(found) == {f"review_item:{scene.items['stays']}"}
    (finding,) = found.values()
    assert finding.status == "open"
    assert finding.severity == "high"
    assert finding.evidence == {
        "campaign": "Year-end review",
        "campaign_id": scene.campaign_id,
        "item_id": scene.items["stays"],
        "kind": "teammate",
        "decision": "revoke",
        "new_role": None,
        "decided_at": "2026-12-30T09:00:00+00:00",
        "waiting_since": "2026-12-30T09:00:00+00:00",
        "days": 8,
        "threshold_days": 7,
    }


def test_the_finding_resolves_once_the_removal_is_seen(scene: Scene) -> None:
    engine = scene.setup.engine
    picked = _pick(scene.world)
    asyncio.run(
        _post_world(scene.setup, _changed_world(scene.world, picked, stays=False))
    )
    _sync(scene, LAST)
    stays = _by_id(engine, scene.campaign_id)[scene.items["stays"]]
    assert (stays.remediation, stays.remediation_verified_at) == ("verified", LAST)
    (finding,) = _findings(engine, scene.integration_id).values()
    assert finding.status == "resolved"
    assert finding.resolved_at == LAST


def test_a_verified_change_undone_in_sendgrid_is_pending_again(scene: Scene) -> None:
    engine = scene.setup.engine
    verified = _by_id(engine, scene.campaign_id)
    assert {verified[i].remediation for i in scene.items.values()} == {"verified"}
    # Someone adds the teammates and the subuser back and lowers the raised
    # teammate again: the world as it was before the review.
    asyncio.run(_post_world(scene.setup, scene.world))
    _sync(scene, BACK)
    after = _by_id(engine, scene.campaign_id)
    for role in ("removed", "raised", "stays", "subuser", "invite"):
        row = after[scene.items[role]]
        assert (row.remediation, row.remediation_verified_at) == ("pending", None), role
        assert row.remediation_since == BACK, role
    # The decisions themselves are unchanged.
    assert after[scene.items["removed"]].decided_at == DECIDED
    found = _findings(engine, scene.integration_id)
    assert {f.status for f in found.values()} == {"resolved"}
    # Seven days after they came back, each is overdue and its finding opens.
    _sync(scene, BACK_LATE)
    late = _by_id(engine, scene.campaign_id)
    assert {late[i].remediation for i in scene.items.values()} == {"overdue"}
    opened = _findings(engine, scene.integration_id)
    removed = opened[f"review_item:{scene.items['removed']}"]
    assert removed.status == "open"
    assert removed.evidence["waiting_since"] == "2027-01-11T09:00:00+00:00"
    assert removed.evidence["days"] == 7


def test_a_disabled_subuser_is_verified_when_the_sync_saw_it(scene: Scene) -> None:
    engine = scene.setup.engine
    disabled = scene.world.model_copy(deep=True)
    other = disabled.accounts[0].subusers[1]
    other.disabled = True
    asyncio.run(_post_world(scene.setup, disabled))
    seen = BACK_LATE + dt.timedelta(days=1)
    _sync(scene, seen)
    [item_id] = [
        row.id
        for row in _items(engine, scene.campaign_id)
        if row.username == other.username
    ]
    decided = seen + dt.timedelta(hours=1)
    reviews.decide(
        engine, scene.campaign_id, ADMIN, "revoke", item_ids=[item_id],
        reason="unused", now=decided,
    )  # fmt: skip
    # A check hours after the sync (no sync between) dates it by the sync.
    check_remediation(
        engine,
        now=decided + dt.timedelta(hours=5),
        integration_ids=[scene.integration_id],
    )
    row = _by_id(engine, scene.campaign_id)[item_id]
    assert (row.remediation, row.remediation_verified_at) == ("verified", seen)
