"""Counts for the API: event history totals, and members with their invites."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smp.api.schemas import MemberCountsOut
from smp.model import EventKind, MemberStatus
from smp.storage import count_invites, count_members, count_members_by_role
from smp.storage.tables import MemberEventRow


def count_member_events(
    session: Session, integration_id: int, kind: EventKind | None
) -> int:
    query = select(func.count()).where(MemberEventRow.integration_id == integration_id)
    if kind is not None:
        query = query.where(MemberEventRow.kind == str(kind))
    return int(session.scalar(query.select_from(MemberEventRow)) or 0)


def member_counts(
    session: Session, integration_id: int, now: dt.datetime
) -> MemberCountsOut:
    """Active members per role; invites split into open and expired at `now`."""
    roles = count_members_by_role(session, integration_id)
    invites = count_invites(session, integration_id, now)
    return MemberCountsOut(
        active=sum(roles.values()),
        roles=roles,
        pending_invites=invites.open,
        expired_invites=invites.expired,
        removed=count_members(session, integration_id, status=MemberStatus.REMOVED),
    )
