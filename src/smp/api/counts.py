"""Counts the repositories do not offer, for page totals of the event history."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smp.model import EventKind
from smp.storage.tables import MemberEventRow


def count_member_events(
    session: Session, integration_id: int, kind: EventKind | None
) -> int:
    query = select(func.count()).where(MemberEventRow.integration_id == integration_id)
    if kind is not None:
        query = query.where(MemberEventRow.kind == str(kind))
    return int(session.scalar(query.select_from(MemberEventRow)) or 0)
