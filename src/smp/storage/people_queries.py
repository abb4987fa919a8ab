"""Reading the directory and the accounts' classifications: lists, one person, counts.

People are paged in `email_key` order, which its index gives without a sort.
Accounts are paged in id order: on SQLite the (present, classification) index
holds the row id after its columns, so `present AND classification = ?
ORDER BY id LIMIT n` walks the index and stops after n rows, and the count is
read from the index alone. That keeps `/accounts?classification=leaver` quick
with 200,000 accounts.

A people search is a case-insensitive substring of the name ("first last"),
the e-mail, the employee id or the department. No index helps a substring;
the directory is small enough (50,000 people) to test row by row. Both
sides are NFKC-normalised (a full-width "Ｌａｂ" is found by "lab"), then
casefolded on SQLite but lowered on PostgreSQL, whose lower() keeps "ß":
there "weiss" does not find "Weiß" (SQLite finds it).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, literal, literal_column, select
from sqlalchemy.orm import Session

from smp.model.people import (
    AccountKind,
    Classification,
    MatchedBy,
    Person,
    PersonStatus,
    PersonType,
    email_key,
)
from smp.storage.tables import AccountClassificationRow, IntegrationRow, PersonRow

# Between searched fields: a needle cannot hold it (inputs refuse control
# characters), so a match never spans two fields.
SEPARATOR = "\x1f"
# SQLite's lower() folds ASCII only; this function folds like the e-mails are.
SQLITE_FOLD = "smp_fold"


@dataclass(frozen=True, slots=True)
class ClassifiedAccount:
    """A SendGrid account with its integration, its person and its classification."""

    id: int
    integration_id: int
    integration: str
    kind: AccountKind
    email: str | None
    username: str | None
    role: str | None
    # active | pending | disabled (subusers) | removed
    status: str
    person_id: int | None
    person_status: PersonStatus | None
    classification: Classification
    matched_by: MatchedBy | None
    # Which people claim an ambiguous account; None otherwise.
    ambiguity: str | None
    present: bool
    leaver_since: dt.datetime | None
    removed_at: dt.datetime | None
    offboarding_lag_s: int | None


def person_of(row: PersonRow) -> Person:
    return Person(
        id=row.id,
        source=row.source,
        email=row.email,
        status=PersonStatus(row.status),
        type=PersonType(row.type),
        employee_id=row.employee_id,
        first_name=row.first_name,
        last_name=row.last_name,
        department=row.department,
        manager_email=row.manager_email,
        start_date=row.start_date,
        end_date=row.end_date,
        aliases=tuple(row.aliases or ()),
        terminated_at=row.terminated_at,
    )


def _fold(value: str | None) -> str | None:
    return None if value is None else email_key(value)


def _search_match(session: Session, search: str) -> ColumnElement[bool]:
    """Whether the search text is in the person's searched fields, folded
    alike on both sides (casefolded on SQLite, lowered on PostgreSQL)."""
    # `||` on both databases (SQLite before 3.44 has no concat_ws); NULL
    # fields become empty, or the whole text would be NULL.
    first = func.coalesce(PersonRow.first_name, "")
    last = func.coalesce(PersonRow.last_name, "")
    employee_id = func.coalesce(PersonRow.employee_id, "")
    department = func.coalesce(PersonRow.department, "")
    joined = first + " " + last + SEPARATOR + PersonRow.email_key
    joined = joined + SEPARATOR + employee_id + SEPARATOR + department
    if session.get_bind().dialect.name != "sqlite":
        # NFKC in SQL too (PostgreSQL 13+, UTF-8 databases): full-width
        # letters and ligatures match their plain forms as on SQLite. lower()
        # is no casefold: ß stays ß, so "weiss" does not find "Weiß" here.
        folded = func.lower(func.normalize(joined, literal_column("NFKC")))
        return func.strpos(folded, _lowered(search)) > 0
    # Registered on each use: pooled connections come and go, and it is cheap.
    raw: Any = session.connection().connection.driver_connection
    raw.create_function(SQLITE_FOLD, 1, _fold, deterministic=True)
    return func.instr(getattr(func, SQLITE_FOLD)(joined), email_key(search)) > 0


def _lowered(search: str) -> str:
    """The search text as PostgreSQL folds the fields: NFKC, then lower()."""
    return unicodedata.normalize("NFKC", search).lower().strip()


def _people_filters(
    session: Session, status: PersonStatus | None, search: str | None
) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if status is not None:
        found.append(PersonRow.status == str(status))
    needle = email_key(search or "")
    if needle:
        # No field holds the separator: such a needle matches nobody.
        ok = SEPARATOR not in needle
        found.append(_search_match(session, search or "") if ok else literal(False))
    return found


def page_people(
    session: Session,
    *,
    status: PersonStatus | None = None,
    search: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> tuple[list[Person], int]:
    """People by e-mail, filtered by status and searched; and how many match."""
    filters = _people_filters(session, status, search)
    if limit is None:  # all of them: their number is how many came
        every = select(PersonRow).where(*filters).order_by(PersonRow.email_key)
        found = [person_of(row) for row in session.scalars(every)]
        return found[offset:], len(found)
    ordered = select(PersonRow.id).where(*filters).order_by(PersonRow.email_key)
    if search and search.strip():
        # A search tests every person: one pass lists the matching ids, which
        # give the total and the page (a count would test everyone again).
        ids = list(session.scalars(ordered))
        total = len(ids)
        page = select(PersonRow).where(PersonRow.id.in_(ids[offset : offset + limit]))
    else:
        total = session.scalar(select(func.count(PersonRow.id)).where(*filters)) or 0
        page = select(PersonRow).where(*filters).limit(limit).offset(offset)
    rows = session.scalars(page.order_by(PersonRow.email_key))
    return [person_of(row) for row in rows], int(total)


def get_person(session: Session, person_id: int) -> Person | None:
    row = session.get(PersonRow, person_id)
    return None if row is None else person_of(row)


def person_by_email(session: Session, email: str) -> Person | None:
    """The person whose primary e-mail this is, compared as `email_key`.

    Two sources may hold the same e-mail: an active person is preferred,
    then the most recently updated one.
    """
    rank = (PersonRow.status == str(PersonStatus.ACTIVE)).desc()
    query = (
        select(PersonRow)
        .where(PersonRow.email_key == email_key(email))
        .order_by(rank, PersonRow.updated_at.desc(), PersonRow.id.desc())
        .limit(1)
    )
    found = session.scalars(query).first()
    return None if found is None else person_of(found)


def _accounts_query() -> Any:
    return (
        select(AccountClassificationRow, IntegrationRow.name, PersonRow.status)
        .join(
            IntegrationRow, IntegrationRow.id == AccountClassificationRow.integration_id
        )
        .outerjoin(PersonRow, PersonRow.id == AccountClassificationRow.person_id)
    )


def _account(
    row: AccountClassificationRow, integration: str, person_status: str | None
) -> ClassifiedAccount:
    return ClassifiedAccount(
        id=row.id,
        integration_id=row.integration_id,
        integration=integration,
        kind=AccountKind(row.kind),
        email=row.email,
        username=row.username,
        role=row.role,
        status=row.status,
        person_id=row.person_id,
        person_status=PersonStatus(person_status) if person_status else None,
        classification=Classification(row.classification),
        matched_by=MatchedBy(row.matched_by) if row.matched_by else None,
        ambiguity=row.ambiguity,
        present=row.present,
        leaver_since=row.leaver_since,
        removed_at=row.removed_at,
        offboarding_lag_s=row.offboarding_lag_s,
    )


def accounts_of_person(session: Session, person_id: int) -> list[ClassifiedAccount]:
    """Every account matched to the person, present or removed, by integration."""
    query = (
        _accounts_query()
        .where(AccountClassificationRow.person_id == person_id)
        .order_by(
            IntegrationRow.name_key,
            AccountClassificationRow.kind,
            AccountClassificationRow.account_key,
        )
    )
    return [_account(*found) for found in session.execute(query)]


def page_accounts(
    session: Session,
    *,
    integration_id: int | None = None,
    classification: Classification | None = None,
    present: bool | None = True,
    limit: int | None = 100,
    offset: int = 0,
) -> tuple[list[ClassifiedAccount], int]:
    """Accounts (by default those SendGrid still lists) in id order; and how many."""
    table = AccountClassificationRow
    tests: list[tuple[Any, object]] = []
    if present is not None:
        tests.append((table.present, present))
    if classification is not None:
        tests.append((table.classification, str(classification)))
    filters = [column == value for column, value in tests]
    walk = filters
    if integration_id is not None or classification is None:
        # Kept off the (present, classification) index, as `coalesce(col, v)
        # = v` (never NULL: the same test): one integration's accounts come
        # sooner from its own index (SQLite, without statistics, would read
        # every leaver of every integration); and as nearly every account is
        # present, rows walked in id order give a page sooner than index
        # entries that would all be sorted by id.
        walk = [func.coalesce(column, value) == value for column, value in tests]
    if integration_id is not None:
        walk = [*walk, table.integration_id == integration_id]
        filters = walk
    query = _accounts_query().where(*walk).order_by(table.id)
    rows = session.execute(query.limit(limit).offset(offset))
    items = [_account(*found) for found in rows]
    # Counting every present account reads the index alone, the quickest.
    total = session.scalar(select(func.count(table.id)).where(*filters))
    return items, int(total or 0)


def people_by_status(session: Session) -> dict[PersonStatus, int]:
    """How many people have each status; every status appears, maybe as 0."""
    counts = dict.fromkeys(PersonStatus, 0)
    query = select(PersonRow.status, func.count()).group_by(PersonRow.status)
    for status, count in session.execute(query):
        counts[PersonStatus(status)] = int(count)
    return counts


def present_accounts_by_classification(session: Session) -> dict[Classification, int]:
    """Accounts SendGrid still lists, per classification (every one, maybe 0)."""
    table = AccountClassificationRow
    counts = dict.fromkeys(Classification, 0)
    query = (
        select(table.classification, func.count())
        .where(table.present == True)  # noqa: E712 (SQL, not Python)
        .group_by(table.classification)
    )
    for classification, count in session.execute(query):
        counts[Classification(classification)] = int(count)
    return counts


def median_offboarding_lag_s(session: Session) -> float | None:
    """The median lag from termination to removal; None while no account has one.

    Read as the one or two middle values: the same on both databases (SQLite
    has no percentile function) and no list of every lag in memory.
    """
    table = AccountClassificationRow
    lag = table.offboarding_lag_s
    # Only removed accounts have a lag: the index on `present` finds them
    # without reading the present ones.
    measured = (table.present == False, lag.isnot(None))  # noqa: E712 (SQL)
    known = session.scalar(select(func.count(lag)).where(*measured)) or 0
    if not known:
        return None
    middle = (known - 1) // 2
    query = select(lag).where(*measured).order_by(lag).offset(middle)
    values = [v for v in session.scalars(query.limit(2 - known % 2)) if v is not None]
    return sum(values) / len(values)


def has_directory(session: Session) -> bool:
    return session.scalar(select(PersonRow.id).limit(1)) is not None
