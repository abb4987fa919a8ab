"""The API-key inventory, its scope history, and each teammate's scopes.

A sync writes the keys it listed (all of them: SendGrid keeps at most 100)
and the teammates whose scopes it read this time (a few per sync, see
`smp.model.api_keys.teammates_to_read`). `first_seen`/`last_seen` are SMP's
sightings: SendGrid has no creation or last-used date for a key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from smp.model.api_keys import (
    ApiKeyRecord,
    KeySighting,
    ScopeChange,
    TeammateScopes,
    scope_changes,
)
from smp.storage.tables import (
    ApiKeyRow,
    ApiKeyScopeChangeRow,
    MemberRow,
    TeammateScopeRow,
)


def save_api_keys(
    session: Session,
    integration_id: int,
    seen: Sequence[KeySighting],
    *,
    now: dt.datetime,
) -> list[ScopeChange]:
    """Upsert the listed keys; keys no longer listed are marked removed.

    Returns the history entries written (a new key's first scopes, and each
    change of a known key's scopes).
    """
    rows = {
        row.key_id: row
        for row in session.scalars(
            select(ApiKeyRow).where(ApiKeyRow.integration_id == integration_id)
        )
    }
    changes = scope_changes({k: r.scopes for k, r in rows.items()}, seen)
    changed = {c.key_id for c in changes}
    for key in seen:
        row = rows.get(key.key_id)
        if row is None:
            session.add(
                ApiKeyRow(
                    integration_id=integration_id,
                    key_id=key.key_id,
                    name=key.name,
                    scopes=list(key.scopes),
                    first_seen=now,
                    last_seen=now,
                    scopes_changed_at=now,
                    present=True,
                    removed_at=None,
                )
            )
            continue
        row.name, row.last_seen, row.present, row.removed_at = key.name, now, True, None
        if key.key_id in changed:
            row.scopes, row.scopes_changed_at = list(key.scopes), now
    listed = {key.key_id for key in seen}
    for key_id, row in rows.items():
        if key_id not in listed and row.present:
            row.present, row.removed_at = False, now
    session.add_all(
        ApiKeyScopeChangeRow(
            integration_id=integration_id,
            key_id=change.key_id,
            seen_at=now,
            change=change.change,
            added=list(change.added),
            removed=list(change.removed),
        )
        for change in changes
    )
    return changes


def list_api_keys(
    session: Session, integration_id: int, *, include_removed: bool = False
) -> list[ApiKeyRecord]:
    query = select(ApiKeyRow).where(ApiKeyRow.integration_id == integration_id)
    if not include_removed:
        query = query.where(ApiKeyRow.present.is_(True))
    return [
        ApiKeyRecord(
            key_id=row.key_id,
            name=row.name,
            scopes=tuple(row.scopes),
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            scopes_changed_at=row.scopes_changed_at,
            present=row.present,
            removed_at=row.removed_at,
        )
        for row in session.scalars(query.order_by(ApiKeyRow.name, ApiKeyRow.key_id))
    ]


def scope_history(
    session: Session, integration_id: int, key_id: str | None = None
) -> list[tuple[dt.datetime, ScopeChange]]:
    """Each key's first scopes and later changes, oldest first."""
    query = select(ApiKeyScopeChangeRow).where(
        ApiKeyScopeChangeRow.integration_id == integration_id
    )
    if key_id is not None:
        query = query.where(ApiKeyScopeChangeRow.key_id == key_id)
    return [
        (
            row.seen_at,
            ScopeChange(row.key_id, row.change, tuple(row.added), tuple(row.removed)),
        )
        for row in session.scalars(query.order_by(ApiKeyScopeChangeRow.id))
    ]


def teammate_scope_state(
    session: Session, integration_id: int
) -> dict[str, tuple[str, dt.datetime]]:
    """username -> (the role it had when read, when read): what plans the reads."""
    rows = session.execute(
        select(
            TeammateScopeRow.username,
            TeammateScopeRow.user_type,
            TeammateScopeRow.fetched_at,
        ).where(TeammateScopeRow.integration_id == integration_id)
    )
    return {username: (user_type, at) for username, user_type, at in rows}


def members_listed_after(
    session: Session, integration_id: int, since: dt.datetime
) -> set[str]:
    """Usernames of the members SMP first listed after `since` (new teammates)."""
    rows = session.scalars(
        select(MemberRow.username).where(
            MemberRow.integration_id == integration_id,
            MemberRow.first_seen > since,
            MemberRow.username.is_not(None),
        )
    )
    return {name for name in rows if name is not None}


def save_teammate_scopes(
    session: Session,
    integration_id: int,
    read: Sequence[TeammateScopes],
    listed: Collection[str],
) -> int:
    """Store the scopes read this time; forget teammates no longer listed.

    `listed` is the complete teammates listing of the same sync.
    """
    rows = {
        row.username: row
        for row in session.scalars(
            select(TeammateScopeRow).where(
                TeammateScopeRow.integration_id == integration_id
            )
        )
    }
    for mate in read:
        row = rows.get(mate.username)
        if row is None:
            row = TeammateScopeRow(
                integration_id=integration_id, username=mate.username
            )
            session.add(row)
        row.user_type, row.scopes = mate.user_type, list(mate.scopes)
        row.two_factor_required = mate.two_factor_required
        row.two_factor_exempt = mate.two_factor_exempt
        row.fetched_at = mate.fetched_at
    still = set(listed)
    gone = [name for name in rows if name not in still]
    if gone:
        session.execute(
            delete(TeammateScopeRow).where(
                TeammateScopeRow.integration_id == integration_id,
                TeammateScopeRow.username.in_(gone),
            )
        )
    return len(read)


def list_teammate_scopes(session: Session, integration_id: int) -> list[TeammateScopes]:
    rows = session.scalars(
        select(TeammateScopeRow)
        .where(TeammateScopeRow.integration_id == integration_id)
        .order_by(TeammateScopeRow.username)
    )
    return [
        TeammateScopes(
            username=row.username,
            user_type=row.user_type,
            scopes=tuple(row.scopes),
            two_factor_required=row.two_factor_required,
            two_factor_exempt=row.two_factor_exempt,
            fetched_at=row.fetched_at,
        )
        for row in rows
    ]
