"""Dialect-aware bulk upsert: `INSERT … ON CONFLICT (keys) DO UPDATE` on both."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice
from typing import Any, cast

from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session

# Rows per statement: keeps SQLite under its bound-parameter limit and memory flat.
CHUNK = 500


def _chunks(rows: Iterable[Mapping[str, Any]]) -> Iterable[list[Mapping[str, Any]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def upsert(
    session: Session,
    model: type[DeclarativeBase],
    rows: Iterable[Mapping[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str] | None = None,
    keep_when_null: Sequence[str] = (),
) -> int:
    """Insert `rows`, or update `update` columns (default: all but keys) on conflict.

    `keys` must match a unique constraint. Columns in `keep_when_null` keep their
    stored value when the new one is NULL, so a partial fetch never blanks data.
    Returns the number of rows sent.
    """
    table = cast(Table, model.__table__)
    dialect = session.get_bind().dialect.name
    module: Any
    if dialect == "postgresql":
        module = postgresql
    elif dialect == "sqlite":
        module = sqlite
    else:  # pragma: no cover - make_engine only builds these two
        raise NotImplementedError(f"no upsert for {dialect}")
    count = 0
    for chunk in _chunks(rows):
        columns = tuple(chunk[0].keys())
        changing = tuple(c for c in (update or columns) if c not in keys)
        statement = _statement(
            table, module, tuple(keys), changing, tuple(keep_when_null)
        )
        session.execute(statement, chunk)
        count += len(chunk)
    return count


@functools.lru_cache(maxsize=256)
def _statement(
    table: Table,
    module: Any,
    keys: tuple[str, ...],
    changing: tuple[str, ...],
    keep_when_null: tuple[str, ...],
) -> Any:
    """Built once per shape: building `excluded` for each call cost more CPU
    than sending a chunk of 500 rows (statements are immutable, so shared)."""
    statement = module.insert(table)
    if not changing:
        return statement.on_conflict_do_nothing(index_elements=list(keys))
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={
            name: (
                func.coalesce(statement.excluded[name], table.c[name])
                if name in keep_when_null
                else statement.excluded[name]
            )
            for name in changing
        },
    )
