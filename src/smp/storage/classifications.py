"""Every SendGrid account's match and classification, kept up to date.

`reclassify` is called after each sync (for that integration) and after an
import or a change of company domains (for all integrations);
`reclassify_emails`, after a SCIM write or a manual link, redoes only the
accounts of the e-mails that changed hands (milliseconds, not seconds). So an
account turns `leaver` the moment its person is terminated, not at the next
sync. The rules are `smp.model.matching`'s; this module reads the accounts,
compares with the stored verdicts and writes only what changed.

Accounts: members rows not removed (status active -> teammate, pending ->
invite) and subusers rows not removed (disabled ones included). A stored,
present account that no longer is one becomes `present = False` with the
listing's removal time and, for a leaver, the offboarding lag. Its row stays
as history. An invite accepted keeps its row (same member key): only its kind
changes, so `leaver_since` carries over.

Speed (issue L: 200,000 accounts, 200 integrations, 50,000 people in 5 s,
300 MB): the directory is read once into dicts; accounts and stored verdicts
are read as the driver's tuples a few integrations at a time (memory stays
flat); only new and changed rows are written, in bulk (COPY on PostgreSQL).
See `_fetch`, `_collector_paused`, `_unmapped`, `load_index` and `_copy`.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Date,
    Engine,
    LargeBinary,
    Table,
    Text,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement, ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler

from smp.model.enums import MemberStatus
from smp.model.matching import Claimant, MatchIndex, offboarding_lag_s
from smp.model.people import (
    AccountKind,
    Classification,
    PersonStatus,
    PersonType,
    email_key,
)
from smp.storage.engine import read_session, unmapped
from smp.storage.tables import (
    AccountClassificationRow,
    AccountLinkRow,
    CompanyDomainRow,
    IntegrationRow,
    MemberRow,
    PersonRow,
    SubuserRow,
)
from smp.storage.types import UtcDateTime
from smp.storage.upsert import CHUNK, check_lengths, insert_columns, upsert_columns

# Integrations read and written together: few queries, bounded memory.
BATCH = 25
# Up to this many integrations, only the part of the directory that can
# claim their accounts is read (see load_index).
PART_UP_TO = 5
# Up to this many e-mail keys, SQL narrows the people whose aliases are read.
NARROW_UP_TO = 32
REMOVED = "removed"
_ACCOUNT_KEYS = ("integration_id", "kind", "account_key")
# The stored columns a reclassification decides, in this order.
_DECIDED = (
    "email",
    "email_key",
    "username",
    "role",
    "status",
    "person_id",
    "matched_by",
    "classification",
    "ambiguity",
    "present",
    "leaver_since",
    "removed_at",
    "offboarding_lag_s",
)
_TEAMMATE = str(AccountKind.TEAMMATE)
_INVITE = str(AccountKind.INVITE)
_SUBUSER = str(AccountKind.SUBUSER)
_LEAVER = str(Classification.LEAVER)
_PERSON_STATUSES = {s.value: s for s in PersonStatus}
_PERSON_TYPES = {t.value: t for t in PersonType}
# Hashed with the schema into the advisory lock's one bigint key (the sync
# locks of smp.storage.lock use the two-int4 key space: no clash).
_PG_LOCK_NAME = ":smp.reclassify"

# (integration id, family, account key): teammate and invite are one family,
# so an accepted invite is the same account.
_Key = tuple[int, str, str]
# The _DECIDED values of one account, and the places read by name.
_Decided = tuple[Any, ...]
_EMAIL = _DECIDED.index("email")
# What SendGrid lists of an account, as `_listed` gives it.
_LISTED = tuple(_DECIDED.index(n) for n in ("email", "username", "role", "status"))
_PERSON_ID = _DECIDED.index("person_id")
_CLASSIFICATION = _DECIDED.index("classification")
_PRESENT = _DECIDED.index("present")
_LEAVER_SINCE = _DECIDED.index("leaver_since")
_REMOVED_AT = _DECIDED.index("removed_at")
assert _REMOVED_AT == _LEAVER_SINCE + 1  # _stored converts them as a pair


def reclassify(
    engine: Engine,
    *,
    now: dt.datetime,
    integration_ids: Collection[int] | None = None,
) -> int:
    """Classify the accounts of these integrations (default: all); returns how many
    accounts are present in SendGrid and were classified."""
    with _one_at_a_time(engine) as session:
        with unmapped(session), _collector_paused():
            index = load_index(session, integration_ids)
            ids = (
                sorted(integration_ids)
                if integration_ids is not None
                else list(
                    session.scalars(
                        select(IntegrationRow.id).order_by(IntegrationRow.id)
                    )
                )
            )
            total = 0
            for start in range(0, len(ids), BATCH):
                batch = ids[start : start + BATCH]
                total += _reclassify_batch(session, index, batch, now)
        return total


def reclassify_emails(
    engine: Engine,
    email_keys: Collection[str],
    *,
    now: dt.datetime,
    person_ids: Collection[int] = (),
) -> int:
    """Reclassify only the accounts one directory change can have touched, in
    every integration; returns how many present accounts were looked at.

    A SCIM write or a link changes who claims a few e-mails; a full
    reclassification (seconds for 200,000 accounts) per SCIM request would
    make an identity provider's first push of 50,000 users take a day. An
    account's verdict depends only on the link, the claimants (by primary
    e-mail or alias) of its own e-mail, their status and type, and the
    company domains. So the accounts to redo are those whose e-mail is in
    `email_keys` (give a changed person's old and new e-mails and aliases, a
    link's e-mail), plus those matched to `person_ids` (a person whose status
    or type changed: accounts linked to them by another e-mail follow). The
    outcome is what `reclassify` of everything would store.

    Only accounts already classified are looked at: one SendGrid listed
    since the last sync is classified by that sync's end, which also
    records removals.
    """
    keys = sorted({key for key in email_keys if key})
    people = sorted(set(person_ids))
    with _one_at_a_time(engine) as session:
        table = AccountClassificationRow
        # Not `present` in SQL: SQLite would then walk the index on `present`
        # (nearly every row) instead of the one on the key (70 ms, not 1).
        stored: dict[_Key, tuple[int, str, _Decided]] = {}
        for chunk in _chunks(keys):
            stored.update(_stored(session, table.email_key.in_(chunk)))
        for chunk in _chunks(people):
            stored.update(_stored(session, table.person_id.in_(chunk)))
        targets = {key: row for key, row in stored.items() if row[2][_PRESENT]}
        if not targets:
            return 0
        index = _part_index(
            session,
            {email_key(d[_EMAIL]) for _, _, d in targets.values() if d[_EMAIL]},
            *_links_and_domains(session),
        )
        rows = []
        for key, (_row_id, kind, before) in targets.items():
            listed = tuple(before[place] for place in _LISTED)
            after = _present(index, listed, before, now)
            if after != before:
                rows.append((key, kind, after))
        if rows:
            _write(session, rows, now, inserting=False)
        return len(targets)


@contextmanager
def _one_at_a_time(engine: Engine) -> Iterator[Session]:
    """A transaction no other reclassification runs beside (on PostgreSQL;
    SQLite has one writer anyway)."""
    with Session(engine) as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            # Two reclassifications at once (a sync ends during an import)
            # would both insert the same new rows: one waits for the other.
            # Keyed by schema: advisory locks are per database, and two SMPs
            # in two schemas must not wait for each other.
            session.execute(
                text(
                    "SELECT pg_advisory_xact_lock(hashtext(current_schema() || :name))"
                ),
                {"name": _PG_LOCK_NAME},
            )
        yield session


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while this runs.

    A full reclassification allocates a tuple or two per account while the
    directory's index is alive: the collector's passes over them cost a
    quarter of its CPU (200,000 accounts: 1.2 s of 5), and free nothing,
    since these objects hold no cycles. Reference counting still frees them.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_index(
    session: Session, integration_ids: Collection[int] | None = None
) -> MatchIndex:
    """The directory as matching needs it: whole, or (a few integrations) the
    part that can claim their accounts.

    A sync reclassifies its one integration: building the index of 50,000
    people (0.4 s) for its thousand accounts would cost more than the sync.
    The part is every person whose primary e-mail or alias is one of the
    accounts' e-mails, linked to one of them, or already matched to one (for
    the offboarding lag): all that `MatchIndex` consults for these accounts.
    """
    links, domains = _links_and_domains(session)
    if integration_ids is None or len(integration_ids) > PART_UP_TO:
        return MatchIndex(_claimants(session, None), links, domains)
    ids = sorted(integration_ids)
    matched = select(AccountClassificationRow.person_id).where(
        AccountClassificationRow.integration_id.in_(ids),
        AccountClassificationRow.person_id.is_not(None),
    )
    return _part_index(
        session,
        _account_keys(session, ids),
        links,
        domains,
        also=[person for (person,) in _fetch(session, matched)],
    )


def _links_and_domains(session: Session) -> tuple[dict[str, int], Sequence[str]]:
    """The manual links (e-mail key -> person id) and the company domains."""
    links = dict(
        # .all(): dict() would take a Result, which has keys(), for a mapping.
        session.connection()
        .execute(select(AccountLinkRow.email_key, AccountLinkRow.person_id))
        .all()
    )
    return links, session.scalars(select(CompanyDomainRow.domain)).all()


def _part_index(
    session: Session,
    keys: set[str],
    links: dict[str, int],
    domains: Sequence[str],
    *,
    also: Collection[int] = (),
) -> MatchIndex:
    """The index of the people who can claim these e-mail keys (as primary
    e-mail or alias, or by a link), and of the people `also` names."""
    wanted = {person for key, person in links.items() if email_key(key) in keys}
    wanted.update(_alias_claimants(session, keys))
    wanted.update(also)
    people: dict[int, Claimant] = {}
    for chunk in _chunks(sorted(keys)):
        people.update(
            (p.id, p) for p in _claimants(session, PersonRow.email_key.in_(chunk))
        )
    for chunk in _chunks(sorted(wanted - people.keys())):
        people.update((p.id, p) for p in _claimants(session, PersonRow.id.in_(chunk)))
    return MatchIndex(people.values(), links, domains)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _claimants(session: Session, where: ColumnElement[bool] | None) -> list[Claimant]:
    """People (those `where` picks, or all) as matching needs them."""
    query = select(
        PersonRow.id,
        PersonRow.email,
        PersonRow.status,
        PersonRow.type,
        PersonRow.aliases,
        PersonRow.end_date,
        PersonRow.terminated_at,
    )
    if where is not None:
        query = query.where(where)
    convert = _Converters.of(session)
    return [
        Claimant(
            id=person_id,
            email=email,
            status=_PERSON_STATUSES.get(status) or PersonStatus(status),
            type=_PERSON_TYPES.get(kind) or PersonType(kind),
            aliases=tuple(_json_list(aliases)),
            end_date=None if end_date is None else convert.date(end_date),
            terminated_at=None if ended is None else convert.datetime(ended),
        )
        for person_id, email, status, kind, aliases, end_date, ended in _fetch(
            session, query
        )
    ]


def _account_keys(session: Session, ids: Sequence[int]) -> set[str]:
    """The e-mail keys of these integrations' accounts (removed ones too)."""
    members = select(MemberRow.email).where(
        MemberRow.integration_id.in_(ids), MemberRow.email.is_not(None)
    )
    subusers = select(SubuserRow.email).where(
        SubuserRow.integration_id.in_(ids), SubuserRow.email.is_not(None)
    )
    emails = {email for (email,) in _fetch(session, members)}
    emails.update(email for (email,) in _fetch(session, subusers))
    return {email_key(email) for email in emails} - {""}


def _alias_claimants(session: Session, keys: set[str]) -> set[int]:
    """Who lists one of `keys` as an alias.

    Aliases are JSON, so not indexed: they are read as JSON text. Text in
    plain ASCII without escapes (nearly all) is not parsed: its quoted
    strings are the aliases, and lower-casing is their whole `email_key`
    (NFKC and casefolding change no ASCII letter but its case). Anything
    else is parsed and normalised. For a few keys (a SCIM write), SQL first
    keeps only the texts that can hold one (`_may_hold`): 50,000 people,
    about 20 ms instead of 90.
    """
    found: set[int] = set()
    if not keys:
        return found
    as_text = sql_cast(PersonRow.aliases, Text)
    query = select(PersonRow.id, as_text)
    if len(keys) <= NARROW_UP_TO:
        query = query.where(_may_hold(session, as_text, keys))
    for person_id, written in _fetch(session, query):
        if not written or written == "[]":
            continue
        if written.isascii() and "\\" not in written:
            aliases = written.lower().split('"')[1::2]
            claims = any(alias.strip() in keys for alias in aliases)
        else:
            claims = any(email_key(alias) in keys for alias in _json_list(written))
        if claims:
            found.add(person_id)
    return found


def _may_hold(
    session: Session, written: ColumnElement[str], keys: Collection[str]
) -> ColumnElement[bool]:
    """Alias texts that may hold one of `keys`: more than those, never fewer.

    An alias whose key is K, written in plain ASCII without escapes, holds K
    in any case; any other alias makes the text non-ASCII (raw letters) or
    gives it a backslash (JSON's \\u escapes).
    """
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's length() counts characters, a BLOB's its UTF-8 bytes.
        wide = func.length(sql_cast(written, LargeBinary)) != func.length(written)
    else:
        wide = func.octet_length(written) != func.length(written)
    lowered = func.lower(written)
    return or_(
        wide,
        written.contains("\\", autoescape=True),
        *(lowered.contains(key, autoescape=True) for key in keys),
    )


def _fetch(session: Session, query: ClauseElement) -> list[tuple[Any, ...]]:
    """All rows of `query` as the driver's plain tuples.

    Building SQLAlchemy rows and running each value through its type cost
    more than half of a reclassification of 200,000 accounts. Values come as
    the driver gives them: the caller converts dates, datetimes and JSON
    (`_converters`); booleans may be 0/1 on SQLite (only tested for truth
    and compared with ==). Parameters are bound as SQLAlchemy binds them.
    """
    connection = session.connection()
    compiled = cast(
        SQLCompiler,
        query.compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        ),
    )
    params = compiled.construct_params()
    order = compiled.positiontup
    bound = [params[name] for name in order] if order is not None else params
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), bound)
        return list(cursor.fetchall())
    finally:
        cursor.close()


@dataclass(frozen=True, slots=True)
class _Converters:
    """The storage types' own conversions of a driver's values."""

    datetime: Callable[[Any], dt.datetime | None]
    date: Callable[[Any], dt.date | None]

    @classmethod
    def of(cls, session: Session) -> _Converters:
        dialect = session.connection().dialect
        to_datetime = (
            UtcDateTime().dialect_impl(dialect).result_processor(dialect, None)
        )
        assert to_datetime is not None  # UtcDateTime always adds the time zone
        # None: the driver's value already is a date (psycopg).
        to_date = Date().dialect_impl(dialect).result_processor(dialect, None)
        return cls(to_datetime, to_date or _same)


def _same(value: Any) -> Any:
    return value


def _json_list(value: Any) -> list[Any]:
    """A JSON list column as the driver gives it: text on SQLite, parsed on
    psycopg. An empty list, the common case, is not parsed at all."""
    if not value or value == "[]":
        return []
    parsed = json.loads(value) if isinstance(value, str) else value
    return list(parsed or ())


def _listed(session: Session, ids: Sequence[int]) -> Iterator[tuple[_Key, str, Any]]:
    """Every account row of these integrations: (key, kind, columns).

    Removed ones too (kind "removed"), with their removal time, so a stored
    present account that disappeared gets it.
    """
    to_datetime = _Converters.of(session).datetime
    members = select(
        MemberRow.integration_id,
        MemberRow.member_key,
        MemberRow.email,
        MemberRow.username,
        MemberRow.role,
        MemberRow.status,
        MemberRow.removed_at,
    ).where(MemberRow.integration_id.in_(ids))
    for iid, key, email, username, role, status, removed_at in _fetch(session, members):
        if removed_at is not None or status == MemberStatus.REMOVED:
            yield (iid, "m", key), REMOVED, to_datetime(removed_at)
            continue
        kind = _INVITE if status == MemberStatus.PENDING else _TEAMMATE
        yield (iid, "m", key), kind, (email, username, role, status)
    subusers = select(
        SubuserRow.integration_id,
        SubuserRow.username,
        SubuserRow.email,
        SubuserRow.disabled,
        SubuserRow.removed_at,
    ).where(SubuserRow.integration_id.in_(ids))
    for iid, username, email, disabled, removed_at in _fetch(session, subusers):
        if removed_at is not None:
            yield (iid, "s", username), REMOVED, to_datetime(removed_at)
            continue
        status = "disabled" if disabled else "active"
        yield (iid, "s", username), _SUBUSER, (email, username, None, status)


def _stored(
    session: Session, where: ColumnElement[bool]
) -> dict[_Key, tuple[int, str, _Decided]]:
    """The stored verdicts `where` picks: key -> (row id, kind, decided columns)."""
    columns = [getattr(AccountClassificationRow, name) for name in _DECIDED]
    query = select(
        AccountClassificationRow.id,
        AccountClassificationRow.integration_id,
        AccountClassificationRow.kind,
        AccountClassificationRow.account_key,
        *columns,
    ).where(where)
    to_datetime = _Converters.of(session).datetime
    found: dict[_Key, tuple[int, str, _Decided]] = {}
    for row in _fetch(session, query):
        family = "s" if row[2] == _SUBUSER else "m"
        decided = row[4:]
        since, removed = decided[_LEAVER_SINCE], decided[_REMOVED_AT]
        if since is not None or removed is not None:
            # The driver's values to aware datetimes (the two are adjacent).
            decided = (
                *decided[:_LEAVER_SINCE],
                to_datetime(since),
                to_datetime(removed),
                *decided[_REMOVED_AT + 1 :],
            )
        found[(row[1], family, row[3])] = (row[0], row[2], decided)
    return found


def _present(
    index: MatchIndex, columns: Any, before: _Decided | None, now: dt.datetime
) -> _Decided:
    email, username, role, status = columns
    match = index.classify(email)
    classification = match.classification
    leaver_since = None
    if classification is Classification.LEAVER:
        # Kept from when the account first became a leaver, while it stays one.
        stays = (
            before is not None
            and before[_CLASSIFICATION] == _LEAVER
            and before[_PRESENT]
        )
        leaver_since = before[_LEAVER_SINCE] if stays and before else now
    return (
        email,
        (index.key_of(email) or None) if email else None,
        username,
        role,
        status,
        match.person_id,
        # Plain strings, as stored (and as PostgreSQL's COPY writes them).
        match.matched_by.value if match.matched_by else None,
        classification.value,
        match.ambiguity,
        True,
        leaver_since,
        None,
        None,
    )


def _gone(index: MatchIndex, before: _Decided, removed_at: dt.datetime) -> _Decided:
    """The stored verdict of an account SendGrid no longer lists."""
    person_id = before[_PERSON_ID]
    person = index.people.get(person_id) if person_id is not None else None
    lag = offboarding_lag_s(
        person, was_leaver=before[_CLASSIFICATION] == _LEAVER, removed_at=removed_at
    )
    gone = dict(zip(_DECIDED, before, strict=True))
    gone.update(status=REMOVED, present=False, removed_at=removed_at)
    gone["offboarding_lag_s"] = lag
    return tuple(gone.values())


def _reclassify_batch(
    session: Session, index: MatchIndex, ids: Sequence[int], now: dt.datetime
) -> int:
    stored = _stored(session, AccountClassificationRow.integration_id.in_(ids))
    rows: list[tuple[_Key, str, _Decided]] = []
    # Accounts with no stored row: nothing can conflict (reclassifications
    # run one at a time), so they are plainly inserted.
    new: list[tuple[_Key, str, _Decided]] = []
    kind_changes: list[dict[str, Any]] = []
    present = 0
    for key, kind, columns in _listed(session, ids):
        # What stays in `stored` afterwards was not listed at all.
        old = stored.pop(key, None)
        before = old[2] if old else None
        if kind == REMOVED:
            if old is not None and old[2][_PRESENT]:
                rows.append((key, old[1], _gone(index, old[2], columns or now)))
            continue
        present += 1
        after = _present(index, columns, before, now)
        if old is None:
            new.append((key, kind, after))
            continue
        if old[1] != kind:
            # An accepted invite: the same account, now a teammate.
            kind_changes.append({"row_id": old[0], "new_kind": kind})
        elif before == after:
            continue
        rows.append((key, kind, after))
    for key, (_row_id, kind, before) in stored.items():
        if before[_PRESENT]:
            # Its row is gone altogether (not merely marked removed).
            rows.append((key, kind, _gone(index, before, now)))
    if kind_changes:
        table = cast(Table, AccountClassificationRow.__table__)
        session.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(kind=bindparam("new_kind")),
            kind_changes,
        )
    if new:
        _write(session, new, now, inserting=True)
    if rows:
        _write(session, rows, now, inserting=False)
    return present


def _write(
    session: Session,
    rows: list[tuple[_Key, str, _Decided]],
    now: dt.datetime,
    *,
    inserting: bool,
) -> None:
    """Write `rows`: all new (`inserting`), or upserted over stored ones."""
    # Rows turned into columns by zip, in C: 200,000 new rows at once.
    keys, kinds, decided = zip(*rows, strict=True)
    integration_ids, _families, account_keys = zip(*keys, strict=True)
    columns: dict[str, Sequence[Any]] = {
        "integration_id": integration_ids,
        "kind": kinds,
        "account_key": account_keys,
        **dict(zip(_DECIDED, zip(*decided, strict=True), strict=True)),
        "updated_at": [now] * len(rows),
    }
    if session.get_bind().dialect.name == "postgresql":
        _copy(session, columns, inserting=inserting)
    elif inserting:
        insert_columns(session, AccountClassificationRow, columns)
    else:
        upsert_columns(session, AccountClassificationRow, columns, keys=_ACCOUNT_KEYS)


_STAGED = "smp_classified"


def _copy(
    session: Session, columns: dict[str, Sequence[Any]], *, inserting: bool
) -> None:
    """PostgreSQL: COPY new rows into the table; changed ones into a temporary
    table, then one upsert from it.

    psycopg sends an executemany as one statement per row (200,000 round
    trips in its pipeline: 7 s of a first classification); COPY streams them.
    """
    table = cast(Table, AccountClassificationRow.__table__)
    check_lengths(table, columns)
    names = list(columns)
    listed = ", ".join(names)
    changing = ", ".join(
        f"{name} = excluded.{name}" for name in names if name not in _ACCOUNT_KEYS
    )
    connection = session.connection()
    to_naive = (
        UtcDateTime()
        .dialect_impl(connection.dialect)
        .bind_processor(connection.dialect)
    )
    assert to_naive is not None  # UtcDateTime always stores naive UTC
    for name in ("leaver_since", "removed_at", "updated_at"):
        columns[name] = [None if v is None else to_naive(v) for v in columns[name]]
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    with dbapi.cursor() as cursor:  # type: ignore[attr-defined]
        if inserting:
            with cursor.copy(f"COPY {table.name} ({listed}) FROM STDIN") as copy:
                for row in zip(*columns.values(), strict=True):
                    copy.write_row(row)
            return
        # Dropped with the transaction; emptied after each batch.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGED} ON COMMIT DROP AS "
            f"SELECT {listed} FROM {table.name} WITH NO DATA"
        )
        with cursor.copy(f"COPY {_STAGED} ({listed}) FROM STDIN") as copy:
            for row in zip(*columns.values(), strict=True):
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table.name} ({listed}) SELECT {listed} FROM {_STAGED} "
            f"ON CONFLICT ({', '.join(_ACCOUNT_KEYS)}) DO UPDATE SET {changing}"
        )
        cursor.execute(f"TRUNCATE {_STAGED}")


def integrations_claiming(
    engine: Engine, email_keys: Collection[str], person_ids: Collection[int] = ()
) -> list[int]:
    """The integrations holding accounts on these e-mails or matched to these
    people: where a targeted reclassification may have changed a verdict."""
    table = AccountClassificationRow
    found: set[int] = set()
    # A read: on SQLite it must not queue for the write lock.
    with read_session(engine) as session:
        for chunk in _chunks(sorted({key for key in email_keys if key})):
            query = select(table.integration_id).where(table.email_key.in_(chunk))
            found.update(session.scalars(query.distinct()))
        for chunk in _chunks(sorted(set(person_ids))):
            query = select(table.integration_id).where(table.person_id.in_(chunk))
            found.update(session.scalars(query.distinct()))
    return sorted(found)
