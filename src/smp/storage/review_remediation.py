"""After a sync: are the access reviews' revoke and modify decisions carried out?

SMP cannot change SendGrid, so a decision stays `pending` until a sync sees
it done: a revoked account removed (SMP records when it saw it go:
`members.removed_at`, `subusers.removed_at`) or a subuser disabled, a
modified teammate holding the new role. Then the item is `verified`, with
the time SMP saw the change. Past the rule's threshold of days it is
`overdue` (and smp.model.rules_reviews.STILL_PRESENT opens a finding).

A verified item is checked again by every sync: a teammate added back, a
subuser enabled or re-created, a role changed again makes it `pending` once
more, and the wait counts from when SMP saw it come back
(`remediation_since`); the check counts it as `reopened` for the sync's log.

An account SMP has no row for at all is left pending, never verified: a
key that cannot read teammates must not pass for a removal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, or_, select, update
from sqlalchemy.orm import Session

from smp.model.rules_reviews import STILL_PRESENT
from smp.storage.findings import load_thresholds
from smp.storage.review_facts import unverified
from smp.storage.tables import MemberRow, ReviewItemRow, SubuserRow


@dataclass(slots=True)
class RemediationCheck:
    """What one check found, counted (for logs and tests)."""

    checked: int = 0
    verified: int = 0
    overdue: int = 0
    # Verified before, undone in SendGrid since.
    reopened: int = 0


@dataclass(frozen=True, slots=True)
class _Seen:
    """An item and what the latest sync stored about its account."""

    item_id: int
    integration_id: int
    decision: str
    new_role: str | None
    decided_at: dt.datetime
    remediation: str
    since: dt.datetime | None  # when it came undone, if it did
    verified_at: dt.datetime | None
    exists: bool  # SMP has a row for the account
    removed_at: dt.datetime | None
    removed: bool  # removed or, for a subuser, disabled
    role: str | None
    seen_at: dt.datetime | None  # the latest sync that listed the account


def check_remediation(
    engine: Engine, *, now: dt.datetime, integration_ids: Sequence[int]
) -> RemediationCheck:
    """Check the revoke and modify decisions about accounts of
    `integration_ids`: the unverified ones, and the verified ones again."""
    result = RemediationCheck()
    with Session(engine) as session, session.begin():
        seen = _teammates(session, integration_ids) + _subusers(
            session, integration_ids
        )
        if not seen:
            return result
        thresholds = load_thresholds(session, integration_ids)
        updates = []
        for one in seen:
            days = (
                thresholds.get(one.integration_id, {})
                .get(STILL_PRESENT.id, {})
                .get("days", STILL_PRESENT.default("days"))
            )
            updates.append(_outcome(one, now, days, result))
        session.execute(update(ReviewItemRow), updates)
        result.checked = len(seen)
    return result


def _outcome(
    one: _Seen, now: dt.datetime, days: int, result: RemediationCheck
) -> dict[str, Any]:
    done_at = _done_at(one, now)
    if done_at is not None:
        result.verified += 1
        return {
            "id": one.item_id,
            "remediation": "verified",
            "remediation_checked_at": now,
            # Verified earlier and still done: it stays dated when first seen.
            "remediation_verified_at": one.verified_at or done_at,
        }
    since = one.since or one.decided_at
    if one.remediation == "verified":
        # Undone in SendGrid since it was verified: wait again, from now.
        result.reopened += 1
        since = now
    late = now - since >= dt.timedelta(days=days)
    result.overdue += late
    return {
        "id": one.item_id,
        "remediation": "overdue" if late else "pending",
        "remediation_checked_at": now,
        "remediation_verified_at": None,
        "remediation_since": None if since == one.decided_at else since,
    }


def _done_at(one: _Seen, now: dt.datetime) -> dt.datetime | None:
    """When SMP saw the decision carried out, or None while it is not."""
    if not one.exists:
        return None
    if one.removed:
        # A removal is dated when SMP saw it (the sync that no longer listed
        # the account); a disabled subuser by the sync that listed it
        # disabled, however much later this check runs.
        return one.removed_at or one.seen_at or now
    if one.decision == "modify" and one.role is not None and one.role == one.new_role:
        return now
    return None


def _to_check(item: type[ReviewItemRow]) -> ColumnElement[bool]:
    """Unverified decisions, and verified ones: SendGrid may undo them."""
    verified = and_(
        item.remediation == "verified", item.decision.in_(("revoke", "modify"))
    )
    return or_(unverified(item), verified)


_ITEM = (
    ReviewItemRow.id,
    ReviewItemRow.integration_id,
    ReviewItemRow.decision,
    ReviewItemRow.new_role,
    ReviewItemRow.decided_at,
    ReviewItemRow.remediation,
    ReviewItemRow.remediation_since,
    ReviewItemRow.remediation_verified_at,
)


def _seen(
    row: Any,
    *,
    exists: bool,
    removed: bool,
    role: str | None,
    seen_at: dt.datetime | None = None,
) -> _Seen:
    return _Seen(
        item_id=row.id,
        integration_id=row.integration_id,
        decision=row.decision,
        new_role=row.new_role,
        decided_at=row.decided_at,
        remediation=row.remediation,
        since=row.remediation_since,
        verified_at=row.remediation_verified_at,
        exists=exists,
        removed_at=row.removed_at,
        removed=removed,
        role=role,
        seen_at=seen_at,
    )


def _teammates(session: Session, ids: Sequence[int]) -> list[_Seen]:
    i, m = ReviewItemRow, MemberRow
    rows = session.execute(
        select(*_ITEM, m.id.label("member_id"), m.removed_at, m.status, m.role)
        .outerjoin(
            m, and_(m.integration_id == i.integration_id, m.member_key == i.account_key)
        )
        .where(
            i.integration_id.in_(list(ids)),
            i.account_kind.in_(("teammate", "invite")),
            _to_check(i),
        )
    )
    return [
        _seen(
            row,
            exists=row.member_id is not None,
            removed=row.removed_at is not None or row.status == "removed",
            role=row.role,
        )
        for row in rows
    ]


def _subusers(session: Session, ids: Sequence[int]) -> list[_Seen]:
    i, s = ReviewItemRow, SubuserRow
    rows = session.execute(
        select(*_ITEM, s.id.label("subuser_id"), s.removed_at, s.disabled, s.last_seen)
        .outerjoin(
            s, and_(s.integration_id == i.integration_id, s.username == i.account_key)
        )
        .where(
            i.integration_id.in_(list(ids)),
            i.account_kind == "subuser",
            _to_check(i),
        )
    )
    return [
        _seen(
            row,
            exists=row.subuser_id is not None,
            removed=row.removed_at is not None or bool(row.disabled),
            role=None,
            seen_at=row.last_seen,
        )
        for row in rows
    ]
