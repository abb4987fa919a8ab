"""The audit trail's table: appending in the caller's transaction, reading, verifying.

`append` locks the head row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's
write transactions are serialized already by BEGIN IMMEDIATE), takes the next
id and the last hash from it, and writes the entry and the new head together:
concurrent appends therefore chain one after the other, and an action that
rolls back leaves no entry. A head row deleted by hand is recreated from the
last entry, with an entry saying so that verify reports (docs/audit.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smp.model.audit import (
    GENESIS_HASH,
    HEAD_RECREATED,
    AuditEntry,
    ChainReport,
    StoredEntry,
    entry_hash,
    plain_details,
)
from smp.model.audit import verify as verify_chain
from smp.storage.engine import read_session
from smp.storage.tables import AuditEventRow, AuditHeadRow

_HEAD_ID = 1
_SHORT = 64
_TARGET = 320
# Rows fetched per round trip while verifying: memory stays flat at any size.
_VERIFY_BATCH = 5_000


def append(
    session: Session,
    *,
    actor: str | None,
    source: str,
    action: str,
    target: str,
    details: Mapping[str, object],
    now: dt.datetime | None = None,
) -> None:
    """Add one entry to the trail in `session`'s transaction (never commits).

    `details` must not hold secrets: the trail is shown to every admin.
    """
    at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    head = _locked_head(session)
    if head is None:  # deleted by hand: SMP must keep working, and say so
        head = _recreate_head(session, source, at)
    last_id, last_hash = _write(
        session, head, actor, source, action, target, details, at
    )
    session.execute(
        update(AuditHeadRow)
        .where(AuditHeadRow.id == _HEAD_ID)
        .values(last_id=last_id, last_hash=last_hash)
    )
    session.flush()


def append_unless_recent(
    session: Session,
    *,
    within: dt.timedelta,
    actor: str | None,
    source: str,
    action: str,
    target: str,
    details: Mapping[str, object],
    now: dt.datetime | None = None,
) -> bool:
    """`append`, unless the same action on the same target from the same source
    was recorded less than `within` ago; whether it appended.

    For repeated failed sign-ins: a script's thousand guesses a minute would
    otherwise bury the trail. The head's lock makes concurrent tries queue.
    """
    at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    _locked_head(session)
    e = AuditEventRow
    seen = session.scalar(
        select(e.id)
        .where(
            e.occurred_at >= at - within,
            e.action == action[:_SHORT],
            e.source == source[:_SHORT],
            e.target == target[:_TARGET],
        )
        .limit(1)
    )
    if seen is not None:
        return False
    append(
        session,
        actor=actor,
        source=source,
        action=action,
        target=target,
        details=details,
        now=at,
    )
    return True


def _locked_head(session: Session) -> tuple[int, str] | None:
    head = session.execute(
        select(AuditHeadRow.last_id, AuditHeadRow.last_hash)
        .where(AuditHeadRow.id == _HEAD_ID)
        .with_for_update()
    ).one_or_none()
    return None if head is None else (int(head[0]), str(head[1]))


def _recreate_head(session: Session, source: str, at: dt.datetime) -> tuple[int, str]:
    """A new head naming the last entry left, and an entry saying so after it.

    Starting again at id 1 would collide with entry 1 and refuse every audited
    action (sign-ins included) for good.
    """
    last = session.execute(
        select(AuditEventRow.id, AuditEventRow.hash)
        .order_by(AuditEventRow.id.desc())
        .limit(1)
    ).one_or_none()
    last_id, last_hash = (0, GENESIS_HASH) if last is None else last
    try:
        with session.begin_nested():
            session.add(AuditHeadRow(id=_HEAD_ID, last_id=last_id, last_hash=last_hash))
    except IntegrityError:  # a concurrent append recreated it (and said so) first
        head = _locked_head(session)
        if head is not None:
            return head
        raise
    return _write(
        session,
        (last_id, last_hash),
        None,
        source,
        HEAD_RECREATED,
        "audit_head",
        {},
        at,
    )


def _write(
    session: Session,
    after: tuple[int, str],
    actor: str | None,
    source: str,
    action: str,
    target: str,
    details: Mapping[str, object],
    at: dt.datetime,
) -> tuple[int, str]:
    """Add the entry that follows `after` (last id, last hash); its id and hash."""
    last_id, last_hash = after
    entry = AuditEntry(
        id=last_id + 1,
        occurred_at=at,
        actor=None if actor is None else actor[:_SHORT],
        source=source[:_SHORT],
        action=action[:_SHORT],
        target=target[:_TARGET],
        details=plain_details(details),
    )
    digest = entry_hash(last_hash, entry)
    session.add(
        AuditEventRow(
            id=entry.id,
            occurred_at=entry.occurred_at,
            actor=entry.actor,
            source=entry.source,
            action=entry.action,
            target=entry.target,
            details=dict(entry.details),
            prev_hash=last_hash,
            hash=digest,
        )
    )
    return entry.id, digest


def _entry(row: AuditEventRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        occurred_at=row.occurred_at,
        actor=row.actor,
        source=row.source,
        action=row.action,
        target=row.target,
        details=dict(row.details or {}),
    )


def _filters(since: dt.datetime | None, action: str | None) -> list[Any]:
    where: list[Any] = []
    if since is not None:
        where.append(AuditEventRow.occurred_at >= since)
    if action is not None:
        # `user` matches user.add, user.remove, …; `user.add` only itself.
        where.append(
            (AuditEventRow.action == action)
            | AuditEventRow.action.startswith(f"{action}.", autoescape=True)
        )
    return where


def page_entries(
    session: Session,
    *,
    since: dt.datetime | None = None,
    action: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Entries newest first, and how many match in all."""
    where = _filters(since, action)
    total = session.scalar(
        select(func.count()).select_from(AuditEventRow).where(*where)
    )
    rows = session.scalars(
        select(AuditEventRow)
        .where(*where)
        .order_by(AuditEventRow.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_entry(row) for row in rows], int(total or 0)


def iter_entries(
    engine: Engine,
    *,
    since: dt.datetime | None = None,
    action: str | None = None,
) -> Iterator[AuditEntry]:
    """Every matching entry oldest first, read in batches (for exports)."""
    for row in _stream(engine, _filters(since, action)):
        yield row.entry


def _stream(engine: Engine, where: list[Any]) -> Iterator[StoredEntry]:
    """Rows in id order, one keyed batch per query: no long-held cursor.

    Plain columns, not ORM objects: verifying a million rows is CPU-bound.
    """
    e = AuditEventRow
    columns = (e.id, e.occurred_at, e.actor, e.source, e.action, e.target, e.details)
    after = 0
    while True:
        with read_session(engine) as session:
            batch = session.execute(
                select(*columns, e.prev_hash, e.hash)
                .where(e.id > after, *where)
                .order_by(e.id)
                .limit(_VERIFY_BATCH)
            ).all()
        for row_id, at, actor, source, action, target, details, prev, digest in batch:
            entry = AuditEntry(row_id, at, actor, source, action, target, details or {})
            yield StoredEntry(entry, prev, digest)
        if len(batch) < _VERIFY_BATCH:
            return
        after = batch[-1][0]


def verify(engine: Engine) -> ChainReport:
    """Check every entry's hash, the links between them, and the head."""
    with read_session(engine) as session:
        head = session.execute(
            select(AuditHeadRow.last_id, AuditHeadRow.last_hash).where(
                AuditHeadRow.id == _HEAD_ID
            )
        ).one_or_none()
    # The head is read first: entries appended meanwhile lie past it and are
    # left for the next verify (the walk stops at the head's last id).
    recorded = None if head is None else (int(head[0]), str(head[1]))
    bound = [] if recorded is None else [AuditEventRow.id <= recorded[0]]
    return verify_chain(_stream(engine, bound), recorded)
