"""Members and member events: save complete listings, query for the CLI/API/web.

`save_members` and `save_invites` take a COMPLETE listing (the sync engine
calls them only after every page arrived); the rules that turn a listing into
states and events live in `smp.model.members`. Both write in the caller's
transaction and return the events they recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, func, insert, or_, select
from sqlalchemy.orm import Session

from smp.model import (
    EventKind,
    ListedInvite,
    ListedTeammate,
    Member,
    MemberDiff,
    MemberEvent,
    MemberState,
    MemberStatus,
    Role,
    diff_active,
    diff_pending,
    member_key,
)
from smp.storage.errors import StorageError
from smp.storage.tables import MemberEventRow, MemberRow, ServiceAccountRow
from smp.storage.upsert import CHUNK, upsert

AnySelect = Select[*tuple[Any, ...]]

SORTS = {
    "email": MemberRow.member_key,
    "username": MemberRow.username,
    "role": MemberRow.role,
    "status": MemberRow.status,
    "first_seen": MemberRow.first_seen,
    "last_seen": MemberRow.last_seen,
    "last_name": MemberRow.last_name,
}


def load_member_states(
    session: Session,
    integration_id: int,
    *,
    pending_or_keys: Sequence[str] | None = None,
) -> dict[str, MemberState]:
    """All stored members, or (`pending_or_keys`) the pending ones and these."""
    # Plain rows, not ORM objects: half the CPU for an account's 1,000 members.
    query = select(
        MemberRow.member_key,
        MemberRow.email,
        MemberRow.username,
        MemberRow.role,
        MemberRow.status,
        MemberRow.first_name,
        MemberRow.last_name,
        MemberRow.is_sso,
        MemberRow.invite_expires_at,
        MemberRow.expiry_reported,
        MemberRow.first_seen,
        MemberRow.last_seen,
        MemberRow.removed_at,
    ).where(MemberRow.integration_id == integration_id)
    if pending_or_keys is not None:
        query = query.where(
            or_(
                MemberRow.status == str(MemberStatus.PENDING),
                MemberRow.member_key.in_(pending_or_keys),
            )
        )
    rows = session.execute(query)
    return {
        row.member_key: MemberState(
            key=row.member_key,
            email=row.email,
            username=row.username,
            role=Role(row.role),
            status=MemberStatus(row.status),
            first_name=row.first_name,
            last_name=row.last_name,
            is_sso=row.is_sso,
            invite_expires_at=row.invite_expires_at,
            expiry_reported=row.expiry_reported,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            removed_at=row.removed_at,
        )
        for row in rows
    }


def _member_ids(
    session: Session, integration_id: int, keys: Sequence[str]
) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(keys), CHUNK):
        rows = session.execute(
            select(MemberRow.member_key, MemberRow.id).where(
                MemberRow.integration_id == integration_id,
                MemberRow.member_key.in_(keys[start : start + CHUNK]),
            )
        )
        found.update((key, member_id) for key, member_id in rows)
    return found


def _write(
    session: Session,
    integration_id: int,
    diff: MemberDiff,
    *,
    source_sa_id: int | None,
    run_id: int | None,
    now: dt.datetime,
) -> list[MemberEvent]:
    rows: list[dict[str, Any]] = [
        {
            "integration_id": integration_id,
            "member_key": state.key,
            "email": state.email,
            "username": state.username,
            "first_name": state.first_name,
            "last_name": state.last_name,
            "role": str(state.role),
            "status": str(state.status),
            "is_sso": state.is_sso,
            "invite_expires_at": state.invite_expires_at,
            "expiry_reported": state.expiry_reported,
            "first_seen": state.first_seen or now,
            "last_seen": state.last_seen or now,
            "removed_at": state.removed_at,
            "source_service_account_id": source_sa_id,
            "sync_run_id": run_id,
        }
        for state in diff.states
    ]
    upsert(session, MemberRow, rows, keys=("integration_id", "member_key"))
    ids = _member_ids(session, integration_id, [e.member_key for e in diff.events])
    event_rows = [
        {
            "integration_id": integration_id,
            "member_id": ids[event.member_key],
            "kind": str(event.kind),
            "member_key": event.member_key,
            "email": event.email,
            "username": event.username,
            "old_role": str(event.old_role) if event.old_role else None,
            "new_role": str(event.new_role) if event.new_role else None,
            "occurred_at": event.occurred_at,
            "source_service_account_id": source_sa_id,
            "sync_run_id": run_id,
        }
        for event in diff.events
    ]
    if event_rows:
        session.execute(insert(MemberEventRow), event_rows)
    return [
        MemberEvent(
            kind=e.kind,
            member_key=e.member_key,
            occurred_at=e.occurred_at,
            email=e.email,
            username=e.username,
            old_role=e.old_role,
            new_role=e.new_role,
            source_service_account_id=source_sa_id,
        )
        for e in diff.events
    ]


def save_members(
    session: Session,
    integration_id: int,
    teammates: Iterable[ListedTeammate],
    *,
    source_sa_id: int | None,
    now: dt.datetime,
    run_id: int | None = None,
) -> list[MemberEvent]:
    """Apply the COMPLETE active listing: joins, role changes, departures."""
    existing = load_member_states(session, integration_id)
    diff = diff_active(existing, teammates, now)
    return _write(
        session, integration_id, diff, source_sa_id=source_sa_id, run_id=run_id, now=now
    )


def save_invites(
    session: Session,
    integration_id: int,
    invites: Iterable[ListedInvite],
    *,
    source_sa_id: int | None,
    now: dt.datetime,
    run_id: int | None = None,
) -> list[MemberEvent]:
    """Apply the COMPLETE pending-invite listing: new and expired invites."""
    listed = list(invites)
    keys = [member_key(invite.email) for invite in listed]
    # diff_pending reads only these and the pending ones, not all 1,000 members.
    narrow = keys if len(keys) <= CHUNK else None
    existing = load_member_states(session, integration_id, pending_or_keys=narrow)
    diff = diff_pending(existing, listed, now)
    return _write(
        session, integration_id, diff, source_sa_id=source_sa_id, run_id=run_id, now=now
    )


# --- queries ----------------------------------------------------------------------


def _member(row: MemberRow, source_removed_at: dt.datetime | None) -> Member:
    return Member(
        id=row.id,
        email=row.email,
        username=row.username,
        role=Role(row.role),
        status=MemberStatus(row.status),
        first_name=row.first_name,
        last_name=row.last_name,
        is_sso=row.is_sso,
        invite_expires_at=row.invite_expires_at,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        removed_at=row.removed_at,
        source_service_account_id=row.source_service_account_id,
        source_removed=source_removed_at is not None,
    )


def _filtered(
    query: AnySelect,
    integration_id: int,
    status: MemberStatus | None,
    role: Role | None,
    search: str | None,
) -> AnySelect:
    query = query.where(MemberRow.integration_id == integration_id)
    if status is not None:
        query = query.where(MemberRow.status == str(status))
    if role is not None:
        query = query.where(MemberRow.role == str(role))
    if search and search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(
            or_(
                MemberRow.member_key.like(pattern),
                func.lower(MemberRow.username).like(pattern),
                func.lower(MemberRow.first_name).like(pattern),
                func.lower(MemberRow.last_name).like(pattern),
            )
        )
    return query


def list_members(
    session: Session,
    integration_id: int,
    *,
    status: MemberStatus | None = None,
    role: Role | None = None,
    search: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    sort: str = "email",
) -> list[Member]:
    """Members, filtered; `sort` is a key of SORTS, `-name` for descending."""
    descending = sort.startswith("-")
    column = SORTS.get(sort.lstrip("-"))
    if column is None:
        raise StorageError(f"cannot sort members by {sort!r}; use one of {list(SORTS)}")
    query: AnySelect = select(MemberRow, ServiceAccountRow.removed_at).outerjoin(
        ServiceAccountRow, ServiceAccountRow.id == MemberRow.source_service_account_id
    )
    query = _filtered(query, integration_id, status, role, search)
    order = column.desc() if descending else column.asc()
    query = query.order_by(order, MemberRow.id).offset(offset).limit(limit)
    return [_member(row, removed) for row, removed in session.execute(query)]


def count_members(
    session: Session,
    integration_id: int,
    *,
    status: MemberStatus | None = None,
    role: Role | None = None,
    search: str | None = None,
) -> int:
    query = _filtered(select(func.count()), integration_id, status, role, search)
    return int(session.scalar(query.select_from(MemberRow)) or 0)


def count_members_by_role(
    session: Session,
    integration_id: int,
    *,
    status: MemberStatus | None = MemberStatus.ACTIVE,
) -> dict[Role, int]:
    """Members per role (active ones by default); every role appears, maybe as 0."""
    query = select(MemberRow.role, func.count()).where(
        MemberRow.integration_id == integration_id
    )
    if status is not None:
        query = query.where(MemberRow.status == str(status))
    counts = dict.fromkeys(Role, 0)
    for role, count in session.execute(query.group_by(MemberRow.role)):
        counts[Role(role)] = int(count)
    return counts


def list_member_events(
    session: Session,
    integration_id: int,
    *,
    kind: EventKind | None = None,
    since: dt.datetime | None = None,
    limit: int | None = 100,
) -> list[MemberEvent]:
    """Events, newest first."""
    query = select(MemberEventRow).where(
        MemberEventRow.integration_id == integration_id
    )
    if kind is not None:
        query = query.where(MemberEventRow.kind == str(kind))
    if since is not None:
        query = query.where(MemberEventRow.occurred_at >= since)
    query = query.order_by(
        MemberEventRow.occurred_at.desc(), MemberEventRow.id.desc()
    ).limit(limit)
    return [
        MemberEvent(
            id=row.id,
            kind=EventKind(row.kind),
            member_key=row.member_key,
            occurred_at=row.occurred_at,
            email=row.email,
            username=row.username,
            old_role=Role(row.old_role) if row.old_role else None,
            new_role=Role(row.new_role) if row.new_role else None,
            source_service_account_id=row.source_service_account_id,
        )
        for row in session.scalars(query)
    ]
