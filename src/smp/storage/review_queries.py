"""Reading access review campaigns and their items (smp.storage.reviews writes).

Counts and listings are per reviewer when one is given (a reviewer sees only
their own items); a filter's conditions (smp.model.reviews.parse_filter)
become SQL here, so a bulk decision selects its items in the UPDATE itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast

from sqlalchemy import Engine, Table, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from smp.model.reviews import (
    Campaign,
    CampaignStatus,
    Condition,
    Decision,
    Remediation,
    ReviewerRule,
    ReviewItem,
    snapshot_digest,
)
from smp.storage.engine import read_session
from smp.storage.errors import RecordNotFoundError
from smp.storage.tables import ReviewCampaignRow, ReviewItemRow

PAGE = 5000
ITEMS = cast(Table, ReviewItemRow.__table__)


def campaign_record(row: ReviewCampaignRow, items: int, decided: int) -> Campaign:
    return Campaign(
        id=row.id,
        name=row.name,
        status=CampaignStatus(row.status),
        integration_ids=tuple(row.integration_ids),
        due=row.due,
        reviewer_rule=ReviewerRule(row.reviewer_rule),
        created_by=row.created_by,
        created_at=row.created_at,
        signed_off_by=row.signed_off_by,
        signed_off_at=row.signed_off_at,
        snapshot_sha256=row.snapshot_sha256,
        items=items,
        decided=decided,
    )


def _counts(
    session: Session, campaign_ids: Sequence[int], reviewer: str | None
) -> dict[int, tuple[int, int]]:
    query = (
        select(ITEMS.c.campaign_id, func.count(), func.count(ITEMS.c.decision))
        .where(ITEMS.c.campaign_id.in_(campaign_ids))
        .group_by(ITEMS.c.campaign_id)
    )
    if reviewer is not None:
        query = query.where(ITEMS.c.reviewer == reviewer)
    return {cid: (n, decided) for cid, n, decided in session.execute(query)}


def campaign(
    session_or_engine: Session | Engine,
    campaign_id: int,
    *,
    reviewer: str | None = None,
) -> Campaign:
    """One campaign with its item counts (a reviewer's own only, if given)."""
    if isinstance(session_or_engine, Engine):
        with read_session(session_or_engine) as session:
            return campaign(session, campaign_id, reviewer=reviewer)
    row = session_or_engine.get(ReviewCampaignRow, campaign_id)
    if row is None:
        raise RecordNotFoundError(f"no review campaign {campaign_id}")
    items, decided = _counts(session_or_engine, [campaign_id], reviewer).get(
        campaign_id, (0, 0)
    )
    return campaign_record(row, items, decided)


def list_campaigns(session: Session, *, reviewer: str | None = None) -> list[Campaign]:
    """Every campaign, newest first; a reviewer's: those holding their items."""
    rows = list(
        session.scalars(select(ReviewCampaignRow).order_by(ReviewCampaignRow.id.desc()))
    )
    counts = _counts(session, [r.id for r in rows], reviewer)
    return [
        campaign_record(r, *counts.get(r.id, (0, 0)))
        for r in rows
        if reviewer is None or r.id in counts
    ]


def item_conditions(
    campaign_id: int, conditions: Sequence[Condition], reviewer: str | None
) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [ITEMS.c.campaign_id == campaign_id]
    if reviewer is not None:
        clauses.append(ITEMS.c.reviewer == reviewer)
    clauses.extend(_condition(c) for c in conditions)
    return clauses


# Filter field -> column; the service has turned integration names into ids
# and reviewer names into user name keys.
_COLUMNS = {
    "integration": ITEMS.c.integration_id,
    "kind": ITEMS.c.account_kind,
    "email": ITEMS.c.email,
    "username": ITEMS.c.username,
    "role": ITEMS.c.role,
    "classification": ITEMS.c.classification,
    "department": ITEMS.c.department,
    "manager": ITEMS.c.manager_email,
    "reviewer": ITEMS.c.reviewer,
    "decision": ITEMS.c.decision,
    "remediation": ITEMS.c.remediation,
}


def _condition(condition: Condition) -> ColumnElement[bool]:
    column = _COLUMNS[condition.field]
    value: Any = condition.value
    if value is not None and condition.field == "integration":
        value = int(value)
    if value is None:
        return column.is_not(None) if condition.negated else column.is_(None)
    # `!=` keeps the items with no value at all (SQL's NULL != x is unknown).
    return column.is_distinct_from(value) if condition.negated else column == value


def _review_item(row: Any) -> ReviewItem:
    return ReviewItem(
        id=row.id,
        campaign_id=row.campaign_id,
        integration_id=row.integration_id,
        account_kind=row.account_kind,
        account_key=row.account_key,
        email=row.email,
        username=row.username,
        role=row.role,
        scopes=None if row.scopes is None else tuple(row.scopes),
        is_sso=row.is_sso,
        two_fa=row.two_fa,
        person_id=row.person_id,
        person_name=row.person_name,
        department=row.department,
        manager_email=row.manager_email,
        classification=row.classification,
        open_findings=tuple(row.open_findings),
        reviewer=row.reviewer,
        decision=None if row.decision is None else Decision(row.decision),
        new_role=row.new_role,
        reason=row.reason,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        remediation=Remediation(row.remediation),
        remediation_verified_at=row.remediation_verified_at,
    )


def list_items(
    session: Session,
    campaign_id: int,
    *,
    conditions: Sequence[Condition] = (),
    reviewer: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ReviewItem]:
    query = (
        select(ITEMS)
        .where(*item_conditions(campaign_id, conditions, reviewer))
        .order_by(ITEMS.c.id)
        .offset(offset)
        .limit(limit)
    )
    return [_review_item(r) for r in session.execute(query)]


def count_items(
    session: Session,
    campaign_id: int,
    *,
    conditions: Sequence[Condition] = (),
    reviewer: str | None = None,
) -> int:
    query = select(func.count()).where(
        *item_conditions(campaign_id, conditions, reviewer)
    )
    return session.scalar(query) or 0


def get_item(session: Session, campaign_id: int, item_id: int) -> ReviewItem | None:
    """One item of the campaign, or None when it has no such item."""
    row = session.execute(
        select(ITEMS).where(ITEMS.c.campaign_id == campaign_id, ITEMS.c.id == item_id)
    ).first()
    return None if row is None else _review_item(row)


def count_selected(
    session: Session,
    campaign_id: int,
    *,
    item_ids: Sequence[int] | None,
    conditions: Sequence[Condition] = (),
    reviewer: str | None = None,
) -> int:
    """How many items the ids given (or, without ids, the conditions) select."""
    where = item_conditions(campaign_id, conditions, reviewer)
    if item_ids is None:
        return session.scalar(select(func.count()).where(*where)) or 0
    found = 0
    for start in range(0, len(item_ids), PAGE):
        chunk = item_ids[start : start + PAGE]
        query = select(func.count()).where(*where, ITEMS.c.id.in_(chunk))
        found += session.scalar(query) or 0
    return found


def iter_items(engine: Engine, campaign_id: int) -> Iterator[ReviewItem]:
    """Every item of a campaign in id order, a page at a time."""
    after = 0
    while True:
        with read_session(engine) as session:
            page = session.execute(
                select(ITEMS)
                .where(ITEMS.c.campaign_id == campaign_id, ITEMS.c.id > after)
                .order_by(ITEMS.c.id)
                .limit(PAGE)
            ).all()
        if not page:
            return
        after = page[-1].id
        yield from (_review_item(r) for r in page)


def snapshot_sha256(engine: Engine, campaign_id: int) -> str:
    """The snapshot's SHA-256 computed again from the stored items."""
    return snapshot_digest(
        {
            "item_id": i.id,
            "integration_id": i.integration_id,
            "account_kind": i.account_kind,
            "account_key": i.account_key,
            "email": i.email,
            "username": i.username,
            "role": i.role,
            "scopes": None if i.scopes is None else list(i.scopes),
            "is_sso": i.is_sso,
            "two_fa": None if i.two_fa is None else dict(i.two_fa),
            "person_id": i.person_id,
            "person_name": i.person_name,
            "department": i.department,
            "manager_email": i.manager_email,
            "classification": i.classification,
            "open_findings": [dict(f) for f in i.open_findings],
        }
        for i in iter_items(engine, campaign_id)
    )


def item_reviewers(
    session: Session, campaign_id: int, item_ids: Sequence[int]
) -> dict[int, str | None]:
    """The reviewer of each of `item_ids` that belongs to the campaign."""
    found: dict[int, str | None] = {}
    for start in range(0, len(item_ids), PAGE):
        chunk = item_ids[start : start + PAGE]
        query = select(ITEMS.c.id, ITEMS.c.reviewer).where(
            ITEMS.c.campaign_id == campaign_id, ITEMS.c.id.in_(chunk)
        )
        found.update(dict(session.execute(query).all()))
    return found


def count_undecided(session: Session, campaign_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                ITEMS.c.campaign_id == campaign_id, ITEMS.c.decision.is_(None)
            )
        )
        or 0
    )
