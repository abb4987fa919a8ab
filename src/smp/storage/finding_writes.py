"""Bulk writes of an evaluation: new rows and "still seen" marks, fast on both
databases.

An evaluation of every integration writes tens of thousands of rows at once
(benchmarks/findings_bench.py). On PostgreSQL an INSERT of many VALUES makes
psycopg parse a statement with tens of thousands of placeholders, and an
executemany sends one statement per row; COPY streams the rows instead, and
one UPDATE … = ANY(array) marks every finding seen. SQLite takes plain
executemany well.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Table, update
from sqlalchemy.orm import Session

from smp.storage.tables import FindingRow
from smp.storage.types import UtcDateTime

# Ids per UPDATE … IN on SQLite: under its bound-parameter limit.
CHUNK = 900


def insert_rows(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """A plain bulk INSERT of rows that all have the same keys."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(table.insert(), list(rows))
        return
    names = list(rows[0])
    converters = [_converter(table, name, connection.dialect) for name in names]
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    listed = ", ".join(names)
    copying = f"COPY {table.name} ({listed}) FROM STDIN"
    cursor = dbapi.cursor()
    with cursor, cursor.copy(copying) as copy:  # type: ignore[attr-defined]
        for row in rows:
            values = (row[name] for name in names)
            copy.write_row(
                [
                    value if convert is None or value is None else convert(value)
                    for convert, value in zip(converters, values, strict=True)
                ]
            )


def _converter(table: Table, name: str, dialect: Any) -> Any:
    """How a value is written as COPY text: naive UTC times, JSON as text."""
    declared = table.c[name].type
    if isinstance(declared, UtcDateTime):
        return declared.dialect_impl(dialect).bind_processor(dialect)
    if isinstance(declared, JSON):
        return json.dumps
    return None


def mark_seen(session: Session, ids: Sequence[int], now: dt.datetime) -> None:
    """Set `last_seen` of these findings to `now`."""
    if not ids:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        naive = now.astimezone(dt.UTC).replace(tzinfo=None)
        connection.exec_driver_sql(
            "UPDATE findings SET last_seen = %(seen)s WHERE id = ANY(%(ids)s)",
            {"seen": naive, "ids": list(ids)},
        )
        return
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        session.execute(
            update(FindingRow).where(FindingRow.id.in_(chunk)).values(last_seen=now)
        )
