"""Members and member events: save complete listings (queries: member_queries).

`save_members` and `save_invites` take a COMPLETE listing (the sync engine
calls them only after every page arrived); the rules that turn a listing into
states and events live in `smp.model.members`. Both write in the caller's
transaction and return the events they recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from smp.model import (
    ListedInvite,
    ListedTeammate,
    MemberDiff,
    MemberEvent,
    MemberState,
    MemberStatus,
    Role,
    diff_active,
    diff_pending,
    member_key,
)
from smp.storage.search import index_new_members, newest_member_id, search_text
from smp.storage.tables import MemberEventRow, MemberRow
from smp.storage.upsert import CHUNK, insert_rows, upsert


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
    if len(keys) > CHUNK:
        # Many events (a first sync: one per member): one query for all the
        # integration's ids costs less than IN lists of CHUNK keys.
        rows = session.execute(
            select(MemberRow.member_key, MemberRow.id).where(
                MemberRow.integration_id == integration_id
            )
        )
        found.update((key, member_id) for key, member_id in rows)
        return found
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
            "search_text": search_text(
                state.key, state.username, state.first_name, state.last_name
            ),
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
    newest = newest_member_id(session)
    upsert(session, MemberRow, rows, keys=("integration_id", "member_key"))
    index_new_members(session, newest)
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
        insert_rows(session, MemberEventRow, event_rows)
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
