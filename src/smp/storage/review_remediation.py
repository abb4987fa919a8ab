"""After a sync: are the access reviews' revoke and modify decisions carried out?

SMP cannot change SendGrid, so a decision stays `pending` until a sync sees
it done: a revoked account removed (SMP records when it saw it go:
`members.removed_at`, `subusers.removed_at`) or a subuser disabled, a
modified teammate holding the new role. Then the item is `verified`, with
the time SMP saw the change. Past the rule's threshold of days it is
`overdue` (and smp.model.rules_reviews.STILL_PRESENT opens a finding).

An account SMP has no row for at all is left pending, never verified: a
key that cannot read teammates must not pass for a removal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, select, update
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


@dataclass(frozen=True, slots=True)
class _Seen:
    """An item and what the latest sync stored about its account."""

    item_id: int
    integration_id: int
    decision: str
    new_role: str | None
    decided_at: dt.datetime
    remediation: str
    exists: bool  # SMP has a row for the account
    removed_at: dt.datetime | None
    removed: bool  # removed or, for a subuser, disabled
    role: str | None


def check_remediation(
    engine: Engine, *, now: dt.datetime, integration_ids: Sequence[int]
) -> RemediationCheck:
    """Check the unverified decisions about accounts of `integration_ids`."""
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
            "remediation_verified_at": done_at,
        }
    late = now - one.decided_at >= dt.timedelta(days=days)
    result.overdue += late
    return {
        "id": one.item_id,
        "remediation": "overdue" if late else "pending",
        "remediation_checked_at": now,
    }


def _done_at(one: _Seen, now: dt.datetime) -> dt.datetime | None:
    """When SMP saw the decision carried out, or None while it is not."""
    if not one.exists:
        return None
    if one.removed:
        # A removal is dated when SMP saw it (the sync that no longer listed
        # the account); a disabled subuser when this check saw it disabled.
        return one.removed_at or now
    if one.decision == "modify" and one.role is not None and one.role == one.new_role:
        return now
    return None


_ITEM = (
    ReviewItemRow.id,
    ReviewItemRow.integration_id,
    ReviewItemRow.decision,
    ReviewItemRow.new_role,
    ReviewItemRow.decided_at,
    ReviewItemRow.remediation,
)


def _seen(row: Any, *, exists: bool, removed: bool, role: str | None) -> _Seen:
    return _Seen(
        item_id=row.id,
        integration_id=row.integration_id,
        decision=row.decision,
        new_role=row.new_role,
        decided_at=row.decided_at,
        remediation=row.remediation,
        exists=exists,
        removed_at=row.removed_at,
        removed=removed,
        role=role,
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
            unverified(i),
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
        select(*_ITEM, s.id.label("subuser_id"), s.removed_at, s.disabled)
        .outerjoin(
            s, and_(s.integration_id == i.integration_id, s.username == i.account_key)
        )
        .where(
            i.integration_id.in_(list(ids)),
            i.account_kind == "subuser",
            unverified(i),
        )
    )
    return [
        _seen(
            row,
            exists=row.subuser_id is not None,
            removed=row.removed_at is not None or bool(row.disabled),
            role=None,
        )
        for row in rows
    ]
