"""Campaigns on a synced simulator world, on SQLite and PostgreSQL: creation
freezes exactly the world's accounts, the hash is that of the canonical JSON,
reviewers follow the rules, reviewers see and decide only their own items,
bulk filters decide in one go, and every refusal leaves everything as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.reviews.world import (
    ADMIN,
    MANAGER,
    MANAGER_USER,
    MARIA,
    OLGA,
    OWNER_USER,
    ReviewWorld,
    build,
    department,
    manager,
)

from smp.model.members import member_key
from smp.model.reviews import ReviewerRule
from smp.services import reviews
from smp.services.refusals import Refused
from smp.simulator.scopes import TWO_FACTOR_EXEMPT, TWO_FACTOR_REQUIRED
from smp.storage.tables import AuditEventRow, ReviewCampaignRow, ReviewItemRow

FLAGS = {TWO_FACTOR_EXEMPT, TWO_FACTOR_REQUIRED}
LATER = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def rw(engine: Engine) -> ReviewWorld:
    made = build(engine, "review world")
    reviews.set_review_owner(engine, made.name, OWNER_USER, ADMIN)
    return made


def _create(rw: ReviewWorld, name: str, rule: ReviewerRule) -> reviews.Campaign:
    return reviews.create_campaign(
        rw.engine,
        name=name,
        integrations=[rw.name],
        due=dt.date(2027, 1, 31),
        rule=rule,
        actor=ADMIN,
        now=rw.now,
    )


def _rows(engine: Engine, campaign_id: int) -> list[ReviewItemRow]:
    with Session(engine, expire_on_commit=False) as session:
        rows = list(
            session.scalars(
                select(ReviewItemRow)
                .where(ReviewItemRow.campaign_id == campaign_id)
                .order_by(ReviewItemRow.id)
            )
        )
        session.expunge_all()
    return rows


def _last_audit(engine: Engine) -> tuple[str, str, dict[str, Any]]:
    with Session(engine) as session:
        row = session.scalars(
            select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(1)
        ).one()
        return row.action, row.target, row.details


def _state(engine: Engine, campaign_id: int) -> list[tuple[Any, ...]]:
    return [
        (r.id, r.decision, r.reason, r.decided_by, r.decided_at, r.remediation)
        for r in _rows(engine, campaign_id)
    ]


def test_creation_freezes_every_account_of_the_world(rw: ReviewWorld) -> None:
    created = _create(rw, "Q1 freeze", ReviewerRule.MANAGER)
    account = rw.world.accounts[0]
    rows = _rows(rw.engine, created.id)
    by_key = {(r.account_kind, r.account_key): r for r in rows}
    mates = {("teammate", member_key(t["email"])): t for t in account.teammates}
    invites = {("invite", member_key(p["email"])): p for p in account.pending}
    subs = {("subuser", s.username): s for s in account.subusers}
    assert set(by_key) == set(mates) | set(invites) | set(subs)
    assert created.items == len(rows) == 8 + 2 + 2
    scopes_read = 0
    for index, (key, mate) in enumerate(mates.items()):
        row = by_key[key]
        assert row.username == mate["username"]
        expected_role = (
            "owner"
            if mate["user_type"] == "owner"
            else "admin"
            if mate["user_type"] == "admin" or mate["is_admin"]
            else "user"
        )
        assert row.role == expected_role
        assert row.is_sso is mate["is_sso"]
        assert row.person_name == f"{mate['first_name']} {mate['last_name']}"
        assert row.department == department(index)
        assert row.manager_email == manager(index, len(mates))
        assert row.classification == "employee"
        if row.scopes is not None:
            scopes_read += 1
            world_scopes = set(mate["scopes"])
            assert set(row.scopes) == world_scopes - FLAGS
            assert row.two_fa == {
                "2fa_exempt": TWO_FACTOR_EXEMPT in world_scopes,
                "2fa_required": TWO_FACTOR_REQUIRED in world_scopes,
            }
    assert scopes_read > 0
    for key in invites:
        assert by_key[key].person_id is None
        assert by_key[key].scopes is None
    # Open findings are frozen with their account: both invites are external
    # (no company domain), the first has expired too.
    first, second = (("invite", member_key(p["email"])) for p in account.pending)
    assert {f["rule"] for f in by_key[first].open_findings} == {
        "expired_invite",
        "external_invite",
    }
    assert {f["rule"] for f in by_key[second].open_findings} == {"external_invite"}
    assert set(by_key[first].open_findings[0]) == {"id", "rule", "severity", "title"}
    for key, sub in subs.items():
        assert by_key[key].email == sub.email
        assert by_key[key].is_sso is None
        assert by_key[key].two_fa is None
    assert {r.remediation for r in rows} == {"none"}
    assert {r.decision for r in rows} == {None}


def test_the_snapshot_hash_is_the_canonical_json_of_the_items(rw: ReviewWorld) -> None:
    created = _create(rw, "Q1 hash", ReviewerRule.MANAGER)
    fields = [
        "integration_id",
        "account_kind",
        "account_key",
        "email",
        "username",
        "role",
        "scopes",
        "is_sso",
        "two_fa",
        "person_id",
        "person_name",
        "department",
        "manager_email",
        "classification",
        "open_findings",
    ]
    records = [
        {"item_id": r.id, **{f: getattr(r, f) for f in fields}}
        for r in _rows(rw.engine, created.id)
    ]
    text = json.dumps(
        records, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    expected = hashlib.sha256(text.encode()).hexdigest()
    assert created.snapshot_sha256 == expected
    from smp.storage.reviews import snapshot_sha256

    assert snapshot_sha256(rw.engine, created.id) == expected
    # A change to a frozen field shows in the hash.
    with Session(rw.engine) as session, session.begin():
        row = session.get(ReviewItemRow, records[0]["item_id"])
        assert row is not None
        row.department = "Changed"
    assert snapshot_sha256(rw.engine, created.id) != expected


def test_reviewers_by_manager_then_owner(rw: ReviewWorld) -> None:
    created = _create(rw, "Q1 managers", ReviewerRule.MANAGER)
    for row in _rows(rw.engine, created.id):
        if row.manager_email == MANAGER:
            assert row.reviewer == MANAGER_USER
        else:
            assert row.reviewer == OWNER_USER
    by_owner = _create(rw, "Q1 owners", ReviewerRule.OWNER)
    assert {r.reviewer for r in _rows(rw.engine, by_owner.id)} == {OWNER_USER}


def test_reviewers_see_and_decide_only_their_own(rw: ReviewWorld) -> None:
    created = _create(rw, "Q1 visibility", ReviewerRule.MANAGER)
    rows = _rows(rw.engine, created.id)
    marias = [r.id for r in rows if r.reviewer == MANAGER_USER]
    olgas = [r.id for r in rows if r.reviewer == OWNER_USER]
    assert marias
    assert olgas
    seen = reviews.list_items(rw.engine, created.id, MARIA)
    assert [i.id for i in seen] == marias
    assert len(reviews.list_items(rw.engine, created.id, ADMIN)) == len(rows)
    assert reviews.campaign_detail(rw.engine, created.id, MARIA).items == len(marias)
    with pytest.raises(Refused) as refused:
        reviews.list_items(rw.engine, created.id, MARIA, reviewer=OWNER_USER)
    assert refused.value.http_status == 403
    before = _state(rw.engine, created.id)
    with pytest.raises(Refused) as refused:
        reviews.decide(
            rw.engine,
            created.id,
            MARIA,
            "keep",
            item_ids=[marias[0], olgas[0]],
            now=rw.now,
        )
    assert refused.value.http_status == 403
    assert _state(rw.engine, created.id) == before
    # A bulk filter run by a reviewer touches only their own items.
    count = reviews.decide(
        rw.engine, created.id, MARIA, "keep", expression="kind=teammate", now=rw.now
    )
    assert count.changed == len(marias)
    decided = {r.id for r in _rows(rw.engine, created.id) if r.decision == "keep"}
    assert decided == set(marias)


def test_bulk_filter_and_decisions(rw: ReviewWorld) -> None:
    created = _create(rw, "Q1 bulk", ReviewerRule.MANAGER)
    rows = _rows(rw.engine, created.id)
    marketing = {
        r.id
        for r in rows
        if r.classification == "employee" and r.department == "Marketing"
    }
    count = reviews.decide(
        rw.engine,
        created.id,
        ADMIN,
        "keep",
        expression="classification=employee and department=Marketing",
        now=rw.now,
    )
    assert count.changed == len(marketing) == 4
    assert _last_audit(rw.engine) == (
        "review.decide_bulk",
        f"review {created.id}",
        {
            "decision": "keep",
            "new_role": None,
            "reason": None,
            "count": 4,
            "filter": "classification=employee and department=Marketing",
            "override": False,
            "already_decided": 0,
        },
    )
    undecided = reviews.list_items(
        rw.engine, created.id, ADMIN, expression="decision=none"
    )
    assert {i.id for i in undecided} == {r.id for r in rows} - marketing
    target = sorted({r.id for r in rows} - marketing)[0]
    reviews.decide(
        rw.engine,
        created.id,
        ADMIN,
        "revoke",
        item_ids=[target],
        reason="left the team",
        now=rw.now + LATER,
    )
    item = next(
        i for i in reviews.list_items(rw.engine, created.id, ADMIN) if i.id == target
    )
    assert (item.decision, item.reason, item.decided_by, item.remediation) == (
        "revoke",
        "left the team",
        "root",
        "pending",
    )
    assert item.decided_at == rw.now + LATER
    with pytest.raises(Refused, match="needs a reason"):
        reviews.decide(
            rw.engine, created.id, ADMIN, "revoke", item_ids=[target], now=rw.now
        )
    with pytest.raises(Refused, match="new role"):
        reviews.decide(
            rw.engine,
            created.id,
            ADMIN,
            "modify",
            item_ids=[target],
            reason="x",
            now=rw.now,
        )
    with pytest.raises(Refused, match="unknown role"):
        reviews.decide(
            rw.engine,
            created.id,
            ADMIN,
            "modify",
            item_ids=[target],
            reason="x",
            new_role="root",
            now=rw.now,
        )
    with pytest.raises(Refused, match="filter: unknown field 'colour'") as bad:
        reviews.decide(
            rw.engine, created.id, ADMIN, "keep", expression="colour=red", now=rw.now
        )
    assert bad.value.http_status == 422
    with pytest.raises(Refused) as missing:
        reviews.decide(
            rw.engine, created.id, ADMIN, "keep", item_ids=[2**31 - 2], now=rw.now
        )
    assert missing.value.http_status == 404
    assert item == next(
        i for i in reviews.list_items(rw.engine, created.id, ADMIN) if i.id == target
    )


def test_signoff_needs_every_item_decided_then_closes(rw: ReviewWorld) -> None:
    created = _create(rw, "Q1 signoff", ReviewerRule.MANAGER)
    first = _rows(rw.engine, created.id)[0].id
    reviews.decide(rw.engine, created.id, ADMIN, "keep", item_ids=[first], now=rw.now)
    before = _state(rw.engine, created.id)
    with pytest.raises(Refused, match="has 11 undecided items") as refused:
        reviews.sign_off(rw.engine, created.id, ADMIN, now=rw.now)
    assert refused.value.http_status == 409
    audited = _last_audit(rw.engine)
    assert audited[0] == "review.decide"
    with pytest.raises(Refused) as viewer:
        reviews.sign_off(rw.engine, created.id, OLGA, now=rw.now)
    assert viewer.value.http_status == 403
    assert _state(rw.engine, created.id) == before
    # Refusals leave no audit entry either.
    assert _last_audit(rw.engine) == audited
    reviews.decide(
        rw.engine, created.id, ADMIN, "keep", expression="decision=none", now=rw.now
    )
    closed = reviews.sign_off(rw.engine, created.id, ADMIN, now=rw.now + LATER)
    assert (closed.status.value, closed.signed_off_by, closed.decided) == (
        "closed",
        "root",
        12,
    )
    after = _state(rw.engine, created.id)
    with pytest.raises(Refused, match="is closed") as late:
        reviews.decide(
            rw.engine,
            created.id,
            ADMIN,
            "revoke",
            item_ids=[first],
            reason="late",
            now=rw.now,
        )
    assert late.value.http_status == 409
    assert _state(rw.engine, created.id) == after
    with Session(rw.engine) as session:
        row = session.get(ReviewCampaignRow, created.id)
        assert row is not None
        assert row.signed_off_at == rw.now + LATER


def test_bad_campaign_input(rw: ReviewWorld) -> None:
    with pytest.raises(Refused, match="no integration") as unknown:
        reviews.create_campaign(
            rw.engine,
            name="nope",
            integrations=["no such"],
            due=None,
            rule=ReviewerRule.OWNER,
            actor=ADMIN,
            now=rw.now,
        )
    assert unknown.value.http_status == 404
    with pytest.raises(Refused) as viewer:
        reviews.create_campaign(
            rw.engine,
            name="nope",
            integrations=[rw.name],
            due=None,
            rule=ReviewerRule.OWNER,
            actor=OLGA,
            now=rw.now,
        )
    assert viewer.value.http_status == 403
    _create(rw, "Twice", ReviewerRule.OWNER)
    with pytest.raises(Refused, match="already exists") as taken:
        _create(rw, "  twice ", ReviewerRule.OWNER)
    assert taken.value.http_status == 409
    with Session(rw.engine) as session:
        names = set(session.scalars(select(ReviewCampaignRow.name_key)))
    assert "nope" not in names
