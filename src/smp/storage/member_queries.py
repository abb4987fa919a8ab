"""Member queries for the CLI, API and web: filter, search, sort, page, count.

A search reads at most COUNT_LIMIT hits through the trigram index
(`smp.storage.search`) and sorts their ids: fewer hits give the page and an
exact total in one pass. More: the needle is common, so walking the sort order
and testing each row finds the page sooner, and the total stays a bound.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, literal, select
from sqlalchemy.orm import Session

from smp.model import EventKind, Member, MemberEvent, MemberStatus, Role
from smp.storage.errors import StorageError
from smp.storage.search import (
    SEPARATOR,
    indexed_source,
    needle_of,
    scan_match,
)
from smp.storage.tables import MemberEventRow, MemberRow, ServiceAccountRow

AnySelect = Select[*tuple[Any, ...]]

COUNT_LIMIT = 10_000

SORTS = {
    "email": MemberRow.member_key,
    "username": MemberRow.username,
    "role": MemberRow.role,
    "status": MemberRow.status,
    "first_seen": MemberRow.first_seen,
    "last_name": MemberRow.last_name,
}


@dataclass(frozen=True, slots=True)
class MemberPage:
    """One page of members; `total` is a lower bound when `total_exact` is False."""

    items: list[Member]
    total: int
    total_exact: bool


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
        removed_at=row.removed_at,
        source_service_account_id=row.source_service_account_id,
        source_removed=source_removed_at is not None,
    )


def _filters(
    integration_id: int, status: MemberStatus | None, role: Role | None
) -> list[ColumnElement[bool]]:
    found = [MemberRow.integration_id == integration_id]
    if status is not None:
        found.append(MemberRow.status == str(status))
    if role is not None:
        found.append(MemberRow.role == str(role))
    return found


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _hits(
    filters: list[ColumnElement[bool]],
    needle: str,
    dialect: str,
    at_most: int | None,
    *columns: Any,
) -> AnySelect:
    """Members holding the needle, found through the index, at most `at_most`."""
    source, condition = indexed_source(needle, dialect)
    # No field holds the separator: a needle with it could only span two fields.
    found = condition if SEPARATOR not in needle else false()
    picked = select(*(columns or [literal(1)])).select_from(source)
    return picked.where(found, *filters).limit(at_most)


def _count_hits(
    session: Session,
    filters: list[ColumnElement[bool]],
    needle: str,
    at_most: int | None,
) -> int:
    hits = _hits(filters, needle, _dialect(session), at_most).subquery()
    return int(session.scalar(select(func.count()).select_from(hits)) or 0)


def _sort_key(member: Any, sort: str) -> tuple[Any, Any]:
    column = SORTS.get(sort.lstrip("-"))
    if column is None:
        raise StorageError(f"cannot sort members by {sort!r}; use one of {list(SORTS)}")
    key = getattr(member, column.key)
    return (key.desc() if sort.startswith("-") else key.asc()), member.id


def _rows(
    session: Session,
    conditions: list[ColumnElement[bool]],
    sort: str,
    limit: int | None,
    offset: int,
) -> list[Member]:
    query = (
        select(MemberRow, ServiceAccountRow.removed_at)
        .outerjoin(
            ServiceAccountRow,
            ServiceAccountRow.id == MemberRow.source_service_account_id,
        )
        .where(*conditions)
        .order_by(*_sort_key(MemberRow, sort))
        .offset(offset)
        .limit(limit)
    )
    return [_member(row, removed) for row, removed in session.execute(query)]


def _hit_page(
    session: Session,
    filters: list[ColumnElement[bool]],
    needle: str,
    sort: str,
    limit: int | None,
    offset: int,
    count_limit: int,
) -> tuple[list[Member], int | None]:
    """One pass: the page sorted from at most `count_limit` hits, and their number.

    Only ids and sort keys are sorted; the page's rows are read by id after.
    The hits are a CTE read twice, so both databases compute them once: a
    count over them and a top-N sort are cheaper than `count(*) OVER ()`,
    which sorted every hit. The LIMIT is also a planner fence: PostgreSQL
    would otherwise walk the sort index for hits it wrongly thinks common
    (e.g. "grace.*" e-mails).
    """
    column = SORTS.get(sort.lstrip("-"), MemberRow.member_key)
    dialect = _dialect(session)
    hits = _hits(filters, needle, dialect, count_limit, MemberRow.id, column).cte()
    order = _sort_key(hits.c, sort)
    total = select(func.count()).select_from(hits).scalar_subquery()
    page = select(hits.c.id, total).order_by(*order)
    ranked = session.execute(page.offset(offset).limit(limit)).all()
    if not ranked:
        return [], None
    ids = [row[0] for row in ranked]
    found = {m.id: m for m in _rows(session, [MemberRow.id.in_(ids)], "email", None, 0)}
    return [found[i] for i in ids], int(ranked[0][1])


def page_members(
    session: Session,
    integration_id: int,
    *,
    status: MemberStatus | None = None,
    role: Role | None = None,
    search: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    sort: str = "email",
    count_limit: int = COUNT_LIMIT,
) -> MemberPage:
    """Members filtered and searched (case-insensitive substring); `-name` sorts down.

    Without a search `total` is exact; with one it stops at `count_limit`.
    """
    filters = _filters(integration_id, status, role)
    needle = needle_of(search)
    if needle is None:
        total = session.scalar(select(func.count()).where(*filters)) or 0
        items = _rows(session, filters, sort, limit, offset)
        return MemberPage(items, int(total), True)
    items, hits = _hit_page(session, filters, needle, sort, limit, offset, count_limit)
    if hits is None:  # no row on this page: count the hits (past the end, or none)
        hits = 0 if offset == 0 else _count_hits(session, filters, needle, count_limit)
    if hits < count_limit:
        return MemberPage(items, hits, True)
    # Common: the page above came from an arbitrary count_limit hits. Walking
    # the sort order and testing each row finds the real page soon.
    scan = scan_match(needle, _dialect(session))
    items = _rows(session, [*filters, scan], sort, limit, offset)
    return MemberPage(items, hits, False)


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
    if needle_of(search) is None:  # no count needed, unlike page_members
        filters = _filters(integration_id, status, role)
        return _rows(session, filters, sort, limit, offset)
    return page_members(
        session,
        integration_id,
        status=status,
        role=role,
        search=search,
        limit=limit,
        offset=offset,
        sort=sort,
    ).items


def count_members(
    session: Session,
    integration_id: int,
    *,
    status: MemberStatus | None = None,
    role: Role | None = None,
    search: str | None = None,
) -> int:
    """The exact count: the index finds rare needles, a scan counts common ones."""
    filters = _filters(integration_id, status, role)
    needle = needle_of(search)
    if needle is None:
        return int(session.scalar(select(func.count()).where(*filters)) or 0)
    hits = _count_hits(session, filters, needle, COUNT_LIMIT)
    if hits < COUNT_LIMIT:
        return hits
    scan = scan_match(needle, _dialect(session))
    return int(session.scalar(select(func.count()).where(*filters, scan)) or 0)


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


@dataclass(frozen=True, slots=True)
class InviteCounts:
    """Pending invites: `open` ones can still be accepted, `expired` ones not."""

    open: int
    expired: int


def count_invites(
    session: Session, integration_id: int, now: dt.datetime
) -> InviteCounts:
    """Invites still listed as pending, split at `now` by their expiry date."""
    expired = MemberRow.invite_expires_at <= now
    query = select(func.count(), func.count().filter(expired)).where(
        *_filters(integration_id, MemberStatus.PENDING, None)
    )
    total, past = session.execute(query).one()
    return InviteCounts(open=int(total) - int(past), expired=int(past))


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
            members_found=row.members_found,
            invites_found=row.invites_found,
        )
        for row in session.scalars(query)
    ]
