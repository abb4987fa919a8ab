"""Member text search: one casefolded `search_text` column and its trigram index.

A needle matches a member when it is a substring of the casefolded member key,
username, first or last name: `needle.casefold() in field.casefold()`, the
same on both dialects. `search_text` joins the four fields with SEPARATOR, a
control character that a needle cannot contain (the API refuses them), so a
match never spans two fields.

Indexes (migration 0003): on SQLite an FTS5 `trigram` table; on PostgreSQL a
`pg_trgm` GIN index when the extension is available. Needles shorter than a
trigram are matched row by row.

On SQLite, triggers keep the FTS table in step when members change or go,
but new members are indexed by `index_new_members`, in one statement: an
insert trigger fired once per row cost 28 ms per 1,000 members, the single
`INSERT … SELECT` 5 ms (migration 0005 dropped that trigger).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, FromClause, Join, column, func, select, table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

from smp.storage.tables import MemberRow

SEPARATOR = "\x1f"
TRIGRAM = 3
FTS_TABLE = "members_search"
TRIGRAM_INDEX = "ix_members_search_trgm"

_fts = table(FTS_TABLE, column("rowid"), column("search_text"))


def search_text(*fields: str | None) -> str:
    """member_key, username, first_name, last_name -> the stored search text.

    A field inside another one (a username or last name within the e-mail) is
    left out: whatever it matches, the longer field matches too, and on SQLite
    every stored character costs a trigram in the index on each write.
    """
    unique = {f.casefold() for f in fields if f}
    if len(unique) < 2:  # one field (or none): nothing to leave out
        return unique.pop() if unique else ""
    # Longest first, then alphabetical: the same members give the same text.
    # (Two C-level sorts, the second stable, instead of a key function.)
    ordered = sorted(unique)
    ordered.sort(key=len, reverse=True)
    kept: list[str] = []
    for folded in ordered:
        for longer in kept:
            if folded in longer:
                break
        else:
            kept.append(folded)
    return SEPARATOR.join(kept)


def newest_member_id(session: Session) -> int:
    """The highest member id so far (0 when none); see `index_new_members`."""
    return session.scalar(select(func.coalesce(func.max(MemberRow.id), 0))) or 0


def index_new_members(session: Session, after_id: int) -> None:
    """SQLite: add the members inserted since `newest_member_id` said `after_id`.

    SQLite gives a new row an id above every existing one (unless the largest
    possible id is taken), and the caller's write transaction keeps other
    writers out, so the ids above `after_id` are exactly the new members.
    PostgreSQL's index maintains itself.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    session.execute(
        _fts.insert().from_select(
            ["rowid", "search_text"],
            select(MemberRow.id, MemberRow.search_text).where(MemberRow.id > after_id),
        )
    )


def needle_of(search: str | None) -> str | None:
    """The casefolded needle, or None when there is nothing to search for."""
    needle = (search or "").strip().casefold()
    return needle or None


def include_name(name: str | None, *_: object) -> bool:
    """Alembic's filter: the search structures are raw DDL (0003), not metadata."""
    return name is None or not (
        name in (TRIGRAM_INDEX, FTS_TABLE) or name.startswith(FTS_TABLE + "_")
    )


def scan_match(needle: str, dialect: str) -> ColumnElement[bool]:
    """Row by row: never uses the trigram index, so a sort index can drive."""
    if dialect == "sqlite":
        return func.instr(MemberRow.search_text, needle) > 0
    return func.strpos(MemberRow.search_text, needle) > 0


def _like_pattern(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _phrase(needle: str) -> str:
    return '"' + needle.replace('"', '""') + '"'


class _CrossJoin(Join):
    inherit_cache = True


@compiles(_CrossJoin, "sqlite")
def _cross_join(element: _CrossJoin, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite never reorders a CROSS JOIN: the FTS hits drive, members are
    # looked up by rowid (its planner otherwise probes the FTS table per member).
    joined: str = compiler.visit_join(element, **kw)  # type: ignore[no-untyped-call]
    return joined.replace(" JOIN ", " CROSS JOIN ", 1)


def indexed_source(needle: str, dialect: str) -> tuple[FromClause, ColumnElement[bool]]:
    """FROM clause and condition that find the needle through the trigram index."""
    members = MemberRow.__table__
    if len(needle) < TRIGRAM:
        return members, scan_match(needle, dialect)
    if dialect == "sqlite":
        joined = _CrossJoin(_fts, members, MemberRow.id == _fts.c.rowid)
        return joined, _fts.c.search_text.match(_phrase(needle))
    return members, indexed_match(needle, dialect)


def indexed_match(needle: str, dialect: str) -> ColumnElement[bool]:
    """A condition on members that finds the needle through the trigram index."""
    if len(needle) < TRIGRAM:
        return scan_match(needle, dialect)
    if dialect == "sqlite":
        found = select(_fts.c.rowid).where(_fts.c.search_text.match(_phrase(needle)))
        return MemberRow.id.in_(found)
    return MemberRow.search_text.like(_like_pattern(needle), escape="\\")
