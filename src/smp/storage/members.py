"""Members and member events: save complete listings (queries: member_queries).

`save_members` and `save_invites` take a COMPLETE listing (the sync engine
calls them only after every page arrived); the rules that turn a listing into
states and events live in `smp.model.members`. Both write in the caller's
transaction and return the events they recorded: none for a `baseline`
listing, the integration's first (see `smp.storage.baseline`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, or_, select, update
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
from smp.storage.upsert import CHUNK, insert_columns, upsert_columns

_ROLES = {role.value: role for role in Role}
_STATUSES = {status.value: status for status in MemberStatus}


@dataclass(frozen=True, slots=True)
class _Stored:
    """The loaded members: their states, and each one's id and search text."""

    states: dict[str, MemberState]
    rows: dict[str, tuple[int, str]]


def _load(
    session: Session, integration_id: int, pending_or_keys: Sequence[str] | None
) -> _Stored:
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
        MemberRow.id,
        MemberRow.search_text,
    ).where(MemberRow.integration_id == integration_id)
    if pending_or_keys is not None:
        query = query.where(
            or_(
                MemberRow.status == str(MemberStatus.PENDING),
                MemberRow.member_key.in_(pending_or_keys),
            )
        )
    states: dict[str, MemberState] = {}
    rows: dict[str, tuple[int, str]] = {}
    # The columns after status are MemberState's next fields, in its order.
    for key, email, username, role, status, *fields, member_id, text in session.execute(
        query
    ):
        # Enum members by dict: Role(value) costs more than the rest of a row.
        states[key] = MemberState(
            key,
            email,
            username,
            _ROLES.get(role) or Role(role),
            _STATUSES.get(status) or MemberStatus(status),
            *fields,
        )
        rows[key] = (member_id, text)
    return _Stored(states, rows)


def _member_ids(
    session: Session, integration_id: int, keys: Sequence[str]
) -> dict[str, int]:
    found: dict[str, int] = {}
    if len(keys) > CHUNK:
        # Many keys: one query for all the integration's ids costs less than
        # IN lists of CHUNK keys.
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


def _event_member_ids(
    session: Session,
    integration_id: int,
    events: Sequence[MemberEvent],
    stored: _Stored,
    newest: int | None,
) -> list[int]:
    """The member id of each event, without a query for stored members.

    A member that was not stored was inserted by this write: its id is above
    `newest` (see `newest_member_id`), so one range query finds all of them.
    A member neither stored nor in that range (only if another writer raced
    this one on PostgreSQL) is looked up by key.
    """
    # A diff's events all name a member (only the baseline event does not).
    keys = [e.member_key or "" for e in events]
    missing = [key for key in keys if key not in stored.rows]
    found: dict[str, int] = {}
    if missing and newest is not None:
        rows = session.execute(
            select(MemberRow.member_key, MemberRow.id).where(
                MemberRow.integration_id == integration_id, MemberRow.id > newest
            )
        )
        found.update((key, member_id) for key, member_id in rows)
    if unknown := [key for key in missing if key not in found]:
        found.update(_member_ids(session, integration_id, unknown))
    ids = []
    for key in keys:
        row = stored.rows.get(key)
        ids.append(row[0] if row is not None else found[key])
    return ids


def _unchanged(before: MemberState, state: MemberState, now: dt.datetime) -> bool:
    """Would writing `state` over `before` change nothing but last_seen (= now)?"""
    return (
        state.status is before.status
        and state.role is before.role
        and state.email == before.email
        and state.username == before.username
        and state.first_name == before.first_name
        and state.last_name == before.last_name
        and state.is_sso == before.is_sso
        and state.invite_expires_at == before.invite_expires_at
        and state.expiry_reported == before.expiry_reported
        and (state.first_seen or now) == before.first_seen
        and state.removed_at == before.removed_at
        and (state.last_seen or now) == now
    )


def _touch(
    session: Session,
    member_ids: Sequence[int],
    *,
    source_sa_id: int | None,
    run_id: int | None,
    now: dt.datetime,
) -> None:
    """Members listed again unchanged: only what every write sets moves on."""
    members = cast(Table, MemberRow.__table__)
    for start in range(0, len(member_ids), CHUNK):
        session.execute(
            update(members)
            .where(members.c.id.in_(member_ids[start : start + CHUNK]))
            .values(
                last_seen=now,
                source_service_account_id=source_sa_id,
                sync_run_id=run_id,
            )
        )


def _write(
    session: Session,
    integration_id: int,
    diff: MemberDiff,
    stored: _Stored,
    *,
    source_sa_id: int | None,
    run_id: int | None,
    now: dt.datetime,
    baseline: bool,
) -> list[MemberEvent]:
    # A re-sync lists most members unchanged: for them only last_seen, the
    # source and the run change, in one UPDATE per CHUNK ids, not an upsert of
    # all 17 columns. Stored data ends up the same either way.
    changed: list[MemberState] = []
    texts: list[str] = []
    same: list[int] = []
    inserts = False
    for state in diff.states:
        text = search_text(state.key, state.username, state.first_name, state.last_name)
        row = stored.rows.get(state.key)
        if row is None:
            inserts = True
        elif row[1] == text and _unchanged(stored.states[state.key], state, now):
            same.append(row[0])
            continue
        changed.append(state)
        texts.append(text)
    if same:
        _touch(session, same, source_sa_id=source_sa_id, run_id=run_id, now=now)
    # Only new members need indexing (and only they can be above `newest`).
    newest = newest_member_id(session) if inserts else None
    if changed:
        count = len(changed)
        upsert_columns(
            session,
            MemberRow,
            {
                "integration_id": [integration_id] * count,
                "member_key": [s.key for s in changed],
                "email": [s.email for s in changed],
                "username": [s.username for s in changed],
                "first_name": [s.first_name for s in changed],
                "last_name": [s.last_name for s in changed],
                "search_text": texts,
                "role": [str(s.role) for s in changed],
                "status": [str(s.status) for s in changed],
                "is_sso": [s.is_sso for s in changed],
                "invite_expires_at": [s.invite_expires_at for s in changed],
                "expiry_reported": [s.expiry_reported for s in changed],
                "first_seen": [s.first_seen or now for s in changed],
                "last_seen": [s.last_seen or now for s in changed],
                "removed_at": [s.removed_at for s in changed],
                "source_service_account_id": [source_sa_id] * count,
                "sync_run_id": [run_id] * count,
            },
            keys=("integration_id", "member_key"),
        )
    if newest is not None:
        index_new_members(session, newest)
    events = [] if baseline else diff.events
    if events:
        count = len(events)
        insert_columns(
            session,
            MemberEventRow,
            {
                "integration_id": [integration_id] * count,
                "member_id": _event_member_ids(
                    session, integration_id, events, stored, newest
                ),
                "kind": [str(e.kind) for e in events],
                "member_key": [e.member_key for e in events],
                "email": [e.email for e in events],
                "username": [e.username for e in events],
                "old_role": [str(e.old_role) if e.old_role else None for e in events],
                "new_role": [str(e.new_role) if e.new_role else None for e in events],
                "occurred_at": [e.occurred_at for e in events],
                "source_service_account_id": [source_sa_id] * count,
                "sync_run_id": [run_id] * count,
            },
        )
    # The diff's events already carry the source (and no id, as before).
    return events


def save_members(
    session: Session,
    integration_id: int,
    teammates: Iterable[ListedTeammate],
    *,
    source_sa_id: int | None,
    now: dt.datetime,
    run_id: int | None = None,
    baseline: bool = False,
) -> list[MemberEvent]:
    """Apply the COMPLETE active listing: joins, role changes, departures.

    Raises `SuspiciousListing` (nothing written) for a listing that would
    empty the account or lose its owner.
    """
    stored = _load(session, integration_id, None)
    diff = diff_active(stored.states, teammates, now, source=source_sa_id)
    return _write(
        session,
        integration_id,
        diff,
        stored,
        source_sa_id=source_sa_id,
        run_id=run_id,
        now=now,
        baseline=baseline,
    )


def save_invites(
    session: Session,
    integration_id: int,
    invites: Iterable[ListedInvite],
    *,
    source_sa_id: int | None,
    now: dt.datetime,
    run_id: int | None = None,
    baseline: bool = False,
) -> list[MemberEvent]:
    """Apply the COMPLETE pending-invite listing: new and expired invites."""
    listed = list(invites)
    keys = [member_key(invite.email) for invite in listed]
    # diff_pending reads only these and the pending ones, not all 1,000 members.
    narrow = keys if len(keys) <= CHUNK else None
    stored = _load(session, integration_id, narrow)
    diff = diff_pending(stored.states, listed, now, source=source_sa_id)
    return _write(
        session,
        integration_id,
        diff,
        stored,
        source_sa_id=source_sa_id,
        run_id=run_id,
        now=now,
        baseline=baseline,
    )
