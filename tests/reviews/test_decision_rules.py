"""Rules a decision keeps beyond its reason and role: no SendGrid key in a
reason or a filter, no role for a subuser, a bulk decision leaves decided
items alone unless told to override, and a reviewer without items sees no
campaign. Every refusal changes nothing and writes no audit entry."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tests.reviews.world import ADMIN, MANAGER_USER, OWNER_USER, ReviewWorld, build

from smp.model.reviews import ReviewerRule
from smp.model.users import UserRole
from smp.services import reviews
from smp.services.input_rules import KEY_IN_TEXT
from smp.services.people import add_domain, remove_domain
from smp.services.refusals import Refused
from smp.storage.tables import AuditEventRow, ReviewItemRow
from smp.storage.users import insert_user

# A key's shape: SG. + a 22-character id + . + a 43-character secret.
KEY = "SG." + "k" * 22 + "." + "s" * 43


@pytest.fixture(scope="module")
def rw(engine: Engine) -> ReviewWorld:
    made = build(engine, "decision rules world")
    reviews.set_review_owner(engine, made.name, OWNER_USER, ADMIN)
    return made


def _create(rw: ReviewWorld, name: str) -> int:
    return reviews.create_campaign(
        rw.engine,
        name=name,
        integrations=[rw.name],
        due=None,
        rule=ReviewerRule.OWNER,
        actor=ADMIN,
        now=rw.now,
    ).id


def _state(engine: Engine, campaign_id: int) -> tuple[list[tuple[Any, ...]], int]:
    """The items' decisions and how many audit entries exist."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                ReviewItemRow.id,
                ReviewItemRow.decision,
                ReviewItemRow.reason,
                ReviewItemRow.remediation,
            )
            .where(ReviewItemRow.campaign_id == campaign_id)
            .order_by(ReviewItemRow.id)
        ).all()
        audited = session.scalar(select(func.count()).select_from(AuditEventRow))
    return [tuple(r) for r in rows], int(audited or 0)


def _ids(engine: Engine, campaign_id: int, kind: str) -> list[int]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(ReviewItemRow.id)
                .where(
                    ReviewItemRow.campaign_id == campaign_id,
                    ReviewItemRow.account_kind == kind,
                )
                .order_by(ReviewItemRow.id)
            )
        )


def test_a_key_in_a_reason_or_a_filter_is_refused(rw: ReviewWorld) -> None:
    campaign_id = _create(rw, "Keys")
    before = _state(rw.engine, campaign_id)
    first = _ids(rw.engine, campaign_id, "teammate")[0]
    with pytest.raises(Refused) as in_reason:
        reviews.decide(
            rw.engine,
            campaign_id,
            ADMIN,
            "revoke",
            item_ids=[first],
            reason=f"left; their key was {KEY}",
            now=rw.now,
        )
    assert (str(in_reason.value), in_reason.value.field) == (KEY_IN_TEXT, "reason")
    assert in_reason.value.http_status == 422
    with pytest.raises(Refused) as in_filter:
        reviews.decide(
            rw.engine,
            campaign_id,
            ADMIN,
            "keep",
            expression=f'department="{KEY}"',
            now=rw.now,
        )
    assert (str(in_filter.value), in_filter.value.field) == (KEY_IN_TEXT, "filter")
    assert _state(rw.engine, campaign_id) == before
    # A listing's refusal would quote the filter where parsing stopped.
    with pytest.raises(Refused) as in_listing:
        reviews.list_items(rw.engine, campaign_id, ADMIN, expression=f"{KEY} x")
    assert (str(in_listing.value), in_listing.value.field) == (KEY_IN_TEXT, "filter")


def test_a_subuser_cannot_be_modified(rw: ReviewWorld) -> None:
    campaign_id = _create(rw, "Subusers")
    before = _state(rw.engine, campaign_id)
    subuser = _ids(rw.engine, campaign_id, "subuser")[0]
    why = "SendGrid subusers have no role; revoke disables or deletes them"
    with pytest.raises(Refused) as one:
        reviews.decide(
            rw.engine,
            campaign_id,
            ADMIN,
            "modify",
            item_ids=[subuser],
            new_role="user",
            reason="less access",
            now=rw.now,
        )
    assert str(one.value) == f"modify: item {subuser} is a subuser: {why}"
    assert one.value.http_status == 422
    # The world has 2 subusers among its 12 accounts.
    with pytest.raises(Refused) as bulk:
        reviews.decide(
            rw.engine,
            campaign_id,
            ADMIN,
            "modify",
            expression="kind!=invite",
            new_role="user",
            reason="less access",
            now=rw.now,
        )
    assert str(bulk.value) == (
        f"modify: the filter selects 2 subusers: {why} "
        "(add kind!=subuser to the filter)"
    )
    assert _state(rw.engine, campaign_id) == before
    teammates = reviews.decide(
        rw.engine,
        campaign_id,
        ADMIN,
        "modify",
        expression="kind!=subuser and kind!=invite",
        new_role="user",
        reason="less access",
        now=rw.now,
    )
    assert teammates.changed == 8
    revoked = reviews.decide(
        rw.engine,
        campaign_id,
        ADMIN,
        "revoke",
        item_ids=[subuser],
        reason="unused",
        now=rw.now,
    )
    assert revoked.changed == 1


def test_a_filter_decides_undecided_items_unless_told_to_override(
    rw: ReviewWorld,
) -> None:
    campaign_id = _create(rw, "Override")
    first, second = _ids(rw.engine, campaign_id, "teammate")[:2]
    reviews.decide(
        rw.engine, campaign_id, ADMIN, "revoke", item_ids=[first],
        reason="left", now=rw.now,
    )  # fmt: skip
    # The world's 8 teammates: one decided already.
    kept = reviews.decide(
        rw.engine, campaign_id, ADMIN, "keep", expression="kind=teammate", now=rw.now
    )
    assert (kept.changed, kept.already_decided, kept.override) == (7, 1, False)
    rows = {r[0]: r[1] for r in _state(rw.engine, campaign_id)[0]}
    assert (rows[first], rows[second]) == ("revoke", "keep")
    replaced = reviews.decide(
        rw.engine,
        campaign_id,
        ADMIN,
        "revoke",
        expression="kind=teammate",
        reason="all of them go",
        override=True,
        now=rw.now,
    )
    assert (replaced.changed, replaced.already_decided) == (8, 8)
    rows = {r[0]: r[1] for r in _state(rw.engine, campaign_id)[0]}
    assert (rows[first], rows[second]) == ("revoke", "revoke")


def _reviewers(engine: Engine, campaign_id: int) -> dict[str | None, str | None]:
    """Each item's reviewer by its account's e-mail."""
    with Session(engine) as session:
        rows = session.execute(
            select(ReviewItemRow.email, ReviewItemRow.reviewer).where(
                ReviewItemRow.campaign_id == campaign_id
            )
        ).all()
    return {row.email: row.reviewer for row in rows}


def test_a_manager_is_an_smp_user_only_on_a_company_domain(rw: ReviewWorld) -> None:
    mates = rw.world.accounts[0].teammates
    managed = {t["email"].lower() for i, t in enumerate(mates) if i < len(mates) // 2}
    remove_domain(rw.engine, "corp.example", now=rw.now)
    try:
        # maria.manager@corp.example is no company address now: not the user.
        foreign = reviews.create_campaign(
            rw.engine, name="Partner managers", integrations=[rw.name], due=None,
            rule=ReviewerRule.MANAGER, actor=ADMIN, now=rw.now,
        )  # fmt: skip
    finally:
        add_domain(rw.engine, "corp.example", now=rw.now)
    assert set(_reviewers(rw.engine, foreign.id).values()) == {OWNER_USER}
    company = reviews.create_campaign(
        rw.engine, name="Company managers", integrations=[rw.name], due=None,
        rule=ReviewerRule.MANAGER, actor=ADMIN, now=rw.now,
    )  # fmt: skip
    found = _reviewers(rw.engine, company.id)
    assert {found[e] for e in managed} == {MANAGER_USER}


def test_nobody_reviews_their_own_account(rw: ReviewWorld) -> None:
    mates = rw.world.accounts[0].teammates
    own = mates[1]["email"].lower()
    local, _, domain = own.partition("@")
    with Session(rw.engine) as session, session.begin():
        insert_user(session, local, UserRole.VIEWER, "scrypt$not-a-login", now=rw.now)
    reviews.set_review_owner(rw.engine, rw.name, local, ADMIN)
    add_domain(rw.engine, domain, now=rw.now)
    try:
        made = _create(rw, "Own account")
    finally:
        remove_domain(rw.engine, domain, now=rw.now)
        reviews.set_review_owner(rw.engine, rw.name, OWNER_USER, ADMIN)
    found = _reviewers(rw.engine, made)
    # Their own item goes to the admins; every other one is theirs.
    assert found.pop(own) is None
    assert set(found.values()) == {local}
