"""Writing an imported directory: one source's people, inserted, updated or gone.

A person of a file source is known by (source, email_key). An import is
written in the caller's transaction, in bulk: the source's stored people are
read in one query, and only the people whose values differ are written, so
importing the same file twice changes nothing (not even `updated_at`).
People are never deleted: one missing from a full import turns `gone`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from typing import Any, cast

from sqlalchemy import String, Table, bindparam, select, text, update
from sqlalchemy.orm import Session

from smp.model.people import LEFT_STATUSES, PersonStatus, PersonType, email_key
from smp.storage.tables import PersonRow
from smp.storage.upsert import CHUNK, insert_columns

_TABLE = cast(Table, PersonRow.__table__)
# The longest text each column keeps, so an import can name the row first.
TEXT_LIMITS: dict[str, int] = {
    column.name: column.type.length
    for column in _TABLE.columns
    if isinstance(column.type, String) and column.type.length
}
SOURCE_LIMIT = TEXT_LIMITS["source"]
# One key per schema (tests share a database); one-key advisory locks never
# meet the two-key ones of the sync and of reclassification.
_PG_QUEUE_SQL = (
    "SELECT pg_advisory_xact_lock(hashtext('smp people import ' || current_schema()))"
)
# Statuses that mean the person has left: `terminated_at` is set for them.
# StrEnum members equal (and hash like) the stored strings.
LEFT = LEFT_STATUSES


@dataclass(frozen=True, slots=True)
class PersonValues:
    """What a directory file says about one person (valid and trimmed).

    `_plain` lists the fields in this order too.
    """

    email: str
    employee_id: str | None
    first_name: str | None
    last_name: str | None
    department: str | None
    manager_email: str | None
    status: PersonStatus
    type: PersonType
    start_date: dt.date | None
    end_date: dt.date | None
    aliases: tuple[str, ...]


# The columns an import compares and writes, in PersonValues' field order
# (also a directory file's known columns).
PERSON_COLUMNS = tuple(item.name for item in fields(PersonValues))
_STATUS = PERSON_COLUMNS.index("status")


@dataclass(frozen=True, slots=True)
class ImportCounts:
    imported: int
    updated: int
    unchanged: int
    gone: int


@dataclass(frozen=True, slots=True)
class _Stored:
    id: int
    values: tuple[Any, ...]  # as PersonValues' fields, enums as their text
    status: str
    terminated_at: dt.datetime | None


def save_imported_people(
    session: Session,
    source: str,
    people: Sequence[PersonValues],
    *,
    keep: Collection[str],
    now: dt.datetime,
) -> ImportCounts:
    """Write `people` (distinct e-mails) as `source`'s directory.

    The source's people whose email_key is neither among `people` nor in
    `keep` (rows the file had in error) turn `gone`.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Two imports at once would both insert the same new people: the
        # second waits, then finds them. (SQLite's BEGIN IMMEDIATE does this.)
        session.execute(text(_PG_QUEUE_SQL))
    stored = _load(session, source)
    new: list[PersonValues] = []
    changed: list[dict[str, Any]] = []
    seen: set[str] = set()
    for person in people:
        key = email_key(person.email)
        seen.add(key)
        before = stored.get(key)
        if before is None:
            new.append(person)
        elif _plain(person) != before.values:
            changed.append(_changes(person, before, now))
    gone = [
        _gone(before, now)
        for key, before in stored.items()
        if key not in seen and key not in keep and before.status != PersonStatus.GONE
    ]
    _insert(session, source, new, now)
    _update(session, changed)
    _update(session, gone)
    unchanged = len(people) - len(new) - len(changed)
    return ImportCounts(len(new), len(changed), unchanged, len(gone))


def _load(session: Session, source: str) -> dict[str, _Stored]:
    """The source's people by email_key, as plain rows (no ORM objects)."""
    width = len(PERSON_COLUMNS)
    query = (
        select(
            *(_TABLE.c[name] for name in PERSON_COLUMNS),
            _TABLE.c.id,
            _TABLE.c.terminated_at,
            _TABLE.c.email_key,
        )
        .where(_TABLE.c.source == source)
        .order_by(_TABLE.c.id.desc())  # the oldest person wins a doubled key
    )
    found: dict[str, _Stored] = {}
    # Core rows, sliced: 50,000 people load in a fraction of the ORM's time.
    for row in session.connection().execute(query):
        values = tuple(row)
        person_id, left_at, key = values[width:]
        found[key] = _Stored(person_id, values[:width], values[_STATUS], left_at)
    return found


def _plain(person: PersonValues) -> tuple[Any, ...]:
    """The values as the table holds them (enums as their text)."""
    return (
        person.email,
        person.employee_id,
        person.first_name,
        person.last_name,
        person.department,
        person.manager_email,
        person.status.value,
        person.type.value,
        person.start_date,
        person.end_date,
        list(person.aliases),  # as the JSON column reads back
    )


def terminated_at(
    old_status: str | None,
    old_at: dt.datetime | None,
    new_status: str,
    now: dt.datetime,
) -> dt.datetime | None:
    """When SMP learnt the person left: kept while they stay left, else None."""
    if new_status not in LEFT:
        return None
    if old_status in LEFT and old_at is not None:
        return old_at
    return now


def _row(person: PersonValues) -> dict[str, Any]:
    values = dict(zip(PERSON_COLUMNS, _plain(person), strict=True))
    values["email_key"] = email_key(person.email)
    return values


def _changes(person: PersonValues, before: _Stored, now: dt.datetime) -> dict[str, Any]:
    status = person.status.value
    return {
        **_row(person),
        "person_id": before.id,
        "updated_at": now,
        "terminated_at": terminated_at(
            before.status, before.terminated_at, status, now
        ),
    }


def _gone(before: _Stored, now: dt.datetime) -> dict[str, Any]:
    return {
        "person_id": before.id,
        "status": PersonStatus.GONE.value,
        "updated_at": now,
        "terminated_at": terminated_at(
            before.status, before.terminated_at, PersonStatus.GONE.value, now
        ),
    }


def _insert(
    session: Session, source: str, people: Sequence[PersonValues], now: dt.datetime
) -> None:
    if not people:
        return
    # Column by column, as insert_columns takes them: no dict per person.
    values = zip(*(_plain(person) for person in people), strict=True)
    columns: dict[str, list[Any]] = dict(
        zip(PERSON_COLUMNS, map(list, values), strict=True)
    )
    columns["email_key"] = [email_key(email) for email in columns["email"]]
    count = len(people)
    columns["source"] = [source] * count
    columns["created_at"] = columns["updated_at"] = [now] * count
    columns["terminated_at"] = [
        now if status in LEFT else None for status in columns["status"]
    ]
    # Given, not left to the Python-side default: the SQLite fast path in
    # insert_columns needs every column the statement binds.
    columns["version"] = [1] * count
    insert_columns(session, PersonRow, columns)


def _update(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """One UPDATE by id sent for many rows; the SET columns are the rows' keys."""
    if not rows:
        return
    statement = (
        update(_TABLE)
        .where(_TABLE.c.id == bindparam("person_id"))
        .values(version=_TABLE.c.version + 1)  # SCIM's ETag changes with the row
    )
    for start in range(0, len(rows), CHUNK * 10):
        session.execute(statement, list(rows[start : start + CHUNK * 10]))
