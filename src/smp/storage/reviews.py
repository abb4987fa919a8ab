"""Access review campaigns: the frozen snapshot at creation, then decisions.

Creation reads every present account of the chosen integrations from
`account_classifications` (kept current by each sync's reclassification)
with its member row (SSO), its teammate scopes (scopes and 2FA flags), its
person and its open findings, a few thousand accounts at a time in id order,
and writes the items in bulk (one multi-row INSERT per page). The snapshot's
SHA-256 is hashed as the pages go (smp.model.reviews.snapshot_digest), so
200,000 accounts never sit in memory at once.

A decision, one item or a whole filter, is one UPDATE. Functions take a
`Session` and never commit: the service owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Engine, Table, and_, func, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from smp.model.findings import FindingStatus
from smp.model.people import AccountKind
from smp.model.reviews import (
    SNAPSHOT_FIELDS,
    Campaign,
    CampaignStatus,
    Condition,
    Decision,
    Remediation,
    ReviewerRule,
    ReviewItem,
    Verdict,
    snapshot_digest,
)
from smp.model.users import name_key
from smp.storage.engine import read_session
from smp.storage.errors import DuplicateNameError, RecordNotFoundError
from smp.storage.tables import (
    AccountClassificationRow,
    FindingRow,
    IntegrationRow,
    MemberRow,
    PersonRow,
    ReviewCampaignRow,
    ReviewItemRow,
    TeammateScopeRow,
    UserRow,
)

PAGE = 5000
ITEMS = cast(Table, ReviewItemRow.__table__)
Progress = Callable[[int], None]


def campaign_key(name: str) -> str:
    return " ".join(name.split()).casefold()


# --- creation ------------------------------------------------------------------------


def _source_page(
    session: Session, integration_ids: Sequence[int], after: int
) -> list[Any]:
    ac, m, ts, p = AccountClassificationRow, MemberRow, TeammateScopeRow, PersonRow
    member_kinds = (AccountKind.TEAMMATE.value, AccountKind.INVITE.value)
    query = (
        select(
            ac.id,
            ac.integration_id,
            ac.kind,
            ac.account_key,
            ac.email,
            ac.username,
            ac.role,
            ac.person_id,
            ac.classification,
            m.is_sso,
            ts.scopes,
            ts.two_factor_exempt,
            ts.two_factor_required,
            p.first_name,
            p.last_name,
            p.department,
            p.manager_email,
        )
        .outerjoin(
            m,
            and_(
                m.integration_id == ac.integration_id,
                m.member_key == ac.account_key,
                ac.kind.in_(member_kinds),
            ),
        )
        .outerjoin(
            ts,
            and_(
                ts.integration_id == ac.integration_id,
                ts.username == ac.username,
                ac.kind == AccountKind.TEAMMATE.value,
            ),
        )
        .outerjoin(p, p.id == ac.person_id)
        .where(
            ac.present.is_(True),
            ac.integration_id.in_(integration_ids),
            ac.id > after,
        )
        .order_by(ac.id)
        .limit(PAGE)
    )
    return list(session.execute(query))


def _open_findings(
    session: Session, keys: set[tuple[int, str]]
) -> dict[tuple[int, str], list[dict[str, Any]]]:
    """Open findings whose subject is one of the accounts (a member key or a
    subuser's username, as the rules name them)."""
    found: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    if not keys:
        return found
    query = (
        select(
            FindingRow.id,
            FindingRow.integration_id,
            FindingRow.subject_key,
            FindingRow.rule,
            FindingRow.severity,
            FindingRow.title,
        )
        .where(
            FindingRow.status == FindingStatus.OPEN.value,
            FindingRow.integration_id.in_({i for i, _ in keys}),
            FindingRow.subject_key.in_({k for _, k in keys}),
        )
        .order_by(FindingRow.id)
    )
    for fid, iid, subject, rule, severity, title in session.execute(query):
        if (iid, subject) in keys:
            found[(iid, subject)].append(
                {"id": fid, "rule": rule, "severity": severity, "title": title}
            )
    return found


def _manager_user(manager_email: str | None, users: set[str]) -> str | None:
    """The SMP user named like the manager's e-mail: SMP user names hold no
    `@`, so the e-mail's local part (`alice.smith@…` -> user `alice.smith`)."""
    if not manager_email:
        return None
    local = manager_email.strip().split("@", 1)[0]
    key = name_key(local)
    return key if key in users else None


def _person_name(first: str | None, last: str | None) -> str | None:
    return " ".join(part for part in (first, last) if part) or None


def _item(
    source: Any,
    rule: ReviewerRule,
    owners: Mapping[int, str | None],
    users: set[str],
    findings: Mapping[tuple[int, str], list[dict[str, Any]]],
) -> tuple[dict[str, Any], str | None]:
    """The account's frozen fields (SNAPSHOT_FIELDS, the id still 0) and its
    reviewer."""
    (
        _,
        iid,
        kind,
        key,
        email,
        username,
        role,
        person_id,
        classification,
        is_sso,
        scopes,
        exempt,
        required,
        first,
        last,
        department,
        manager_email,
    ) = source
    reviewer = owners.get(iid)
    if rule is ReviewerRule.MANAGER:
        reviewer = _manager_user(manager_email, users) or reviewer
    read = kind == AccountKind.TEAMMATE.value and scopes is not None
    frozen = {
        "item_id": 0,
        "integration_id": iid,
        "account_kind": kind,
        "account_key": key,
        "email": email,
        "username": username,
        "role": role,
        "scopes": sorted(scopes) if read else None,
        "is_sso": is_sso,
        "two_fa": (
            {"2fa_exempt": bool(exempt), "2fa_required": bool(required)}
            if read
            else None
        ),
        "person_id": person_id,
        "person_name": _person_name(first, last),
        "department": department,
        "manager_email": manager_email,
        "classification": classification,
        "open_findings": findings.get((iid, key), []),
    }
    return frozen, reviewer


def create_campaign(
    session: Session,
    *,
    name: str,
    integration_ids: Sequence[int],
    due: dt.date | None,
    rule: ReviewerRule,
    created_by: str | None,
    now: dt.datetime,
    progress: Progress | None = None,
) -> int:
    """Freeze the accounts of `integration_ids` into a new open campaign."""
    key = campaign_key(name)
    if session.scalar(
        select(ReviewCampaignRow.id).where(ReviewCampaignRow.name_key == key)
    ):
        raise DuplicateNameError(f"a campaign named {name!r} already exists")
    row = ReviewCampaignRow(
        name=" ".join(name.split()),
        name_key=key,
        status=CampaignStatus.OPEN.value,
        integration_ids=sorted(integration_ids),
        due=due,
        reviewer_rule=rule.value,
        created_by=created_by,
        created_at=now,
        snapshot_sha256="",
    )
    session.add(row)
    session.flush()
    owners = dict(
        session.execute(
            select(IntegrationRow.id, IntegrationRow.review_owner).where(
                IntegrationRow.id.in_(integration_ids)
            )
        ).all()
    )
    users = set(session.scalars(select(UserRow.name)))
    row.snapshot_sha256 = snapshot_digest(
        _freeze(session, row.id, sorted(integration_ids), rule, owners, users, progress)
    )
    return row.id


# The columns written at creation, in this order: the id, the campaign, the
# frozen fields, then the reviewer and the remediation (`none`).
_WRITTEN = ("id", "campaign_id", *SNAPSHOT_FIELDS[1:], "reviewer", "remediation")
_JSON_COLUMNS = frozenset({"scopes", "two_fa", "open_findings"})


def _row(
    campaign_id: int, frozen: dict[str, Any], reviewer: str | None
) -> tuple[Any, ...]:
    values: list[Any] = [frozen["item_id"], campaign_id]
    for name in SNAPSHOT_FIELDS[1:]:
        value = frozen[name]
        if name in _JSON_COLUMNS and value is not None:
            # Most accounts have no open finding: skip the encoder for them.
            value = json.dumps(value) if value else "[]"
        values.append(value)
    values += [reviewer, Remediation.NONE.value]
    return tuple(values)


def _write_items(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Write a page of items whose ids are chosen already, JSON as text.

    SQLite: one executemany of the driver. PostgreSQL: COPY, since psycopg
    sends an executemany as one statement per row, and INSERT … RETURNING
    over thousands of rows spends its time building the statement.
    """
    listed = ", ".join(_WRITTEN)
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        marks = ", ".join("?" for _ in _WRITTEN)
        connection.exec_driver_sql(
            f"INSERT INTO review_items ({listed}) VALUES ({marks})", rows
        )
        return
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    with (
        dbapi.cursor() as cursor,  # type: ignore[attr-defined]
        cursor.copy(f"COPY review_items ({listed}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _new_ids(session: Session, count: int) -> list[int]:
    """`count` unused item ids in ascending order.

    PostgreSQL: from the table's sequence. SQLite: after the largest id; the
    transaction holds SQLite's one write lock (BEGIN IMMEDIATE), so no other
    writer takes them meanwhile.
    """
    if session.get_bind().dialect.name == "postgresql":
        ids = session.scalars(
            text(
                "SELECT nextval(pg_get_serial_sequence('review_items', 'id'))"
                " FROM generate_series(1, :n)"
            ),
            {"n": count},
        ).all()
        return sorted(ids)
    last = session.scalar(select(func.max(ITEMS.c.id))) or 0
    return list(range(last + 1, last + 1 + count))


def _freeze(
    session: Session,
    campaign_id: int,
    integration_ids: Sequence[int],
    rule: ReviewerRule,
    owners: Mapping[int, str | None],
    users: set[str],
    progress: Progress | None,
) -> Iterator[dict[str, Any]]:
    """Insert the items page by page; yield each one's frozen fields with its id."""
    after, done = 0, 0
    while page := _source_page(session, integration_ids, after):
        after = page[-1][0]
        findings = _open_findings(session, {(r[1], r[3]) for r in page})
        items = [_item(r, rule, owners, users, findings) for r in page]
        for item_id, (frozen, _) in zip(
            _new_ids(session, len(items)), items, strict=True
        ):
            frozen["item_id"] = item_id
        rows = [_row(campaign_id, frozen, reviewer) for frozen, reviewer in items]
        _write_items(session, rows)
        yield from (frozen for frozen, _ in items)
        done += len(rows)
        if progress is not None:
            progress(done)


# --- reading -------------------------------------------------------------------------


def _campaign(row: ReviewCampaignRow, items: int, decided: int) -> Campaign:
    return Campaign(
        id=row.id,
        name=row.name,
        status=CampaignStatus(row.status),
        integration_ids=tuple(row.integration_ids),
        due=row.due,
        reviewer_rule=ReviewerRule(row.reviewer_rule),
        created_by=row.created_by,
        created_at=row.created_at,
        signed_off_by=row.signed_off_by,
        signed_off_at=row.signed_off_at,
        snapshot_sha256=row.snapshot_sha256,
        items=items,
        decided=decided,
    )


def _counts(
    session: Session, campaign_ids: Sequence[int], reviewer: str | None
) -> dict[int, tuple[int, int]]:
    query = (
        select(ITEMS.c.campaign_id, func.count(), func.count(ITEMS.c.decision))
        .where(ITEMS.c.campaign_id.in_(campaign_ids))
        .group_by(ITEMS.c.campaign_id)
    )
    if reviewer is not None:
        query = query.where(ITEMS.c.reviewer == reviewer)
    return {cid: (n, decided) for cid, n, decided in session.execute(query)}


def campaign(
    session_or_engine: Session | Engine,
    campaign_id: int,
    *,
    reviewer: str | None = None,
) -> Campaign:
    """One campaign with its item counts (a reviewer's own only, if given)."""
    if isinstance(session_or_engine, Engine):
        with read_session(session_or_engine) as session:
            return campaign(session, campaign_id, reviewer=reviewer)
    row = session_or_engine.get(ReviewCampaignRow, campaign_id)
    if row is None:
        raise RecordNotFoundError(f"no review campaign {campaign_id}")
    items, decided = _counts(session_or_engine, [campaign_id], reviewer).get(
        campaign_id, (0, 0)
    )
    return _campaign(row, items, decided)


def list_campaigns(session: Session, *, reviewer: str | None = None) -> list[Campaign]:
    """Every campaign, newest first; a reviewer's: those holding their items."""
    rows = list(
        session.scalars(select(ReviewCampaignRow).order_by(ReviewCampaignRow.id.desc()))
    )
    counts = _counts(session, [r.id for r in rows], reviewer)
    return [
        _campaign(r, *counts.get(r.id, (0, 0)))
        for r in rows
        if reviewer is None or r.id in counts
    ]


def _where(
    campaign_id: int, conditions: Sequence[Condition], reviewer: str | None
) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [ITEMS.c.campaign_id == campaign_id]
    if reviewer is not None:
        clauses.append(ITEMS.c.reviewer == reviewer)
    clauses.extend(_condition(c) for c in conditions)
    return clauses


# Filter field -> column; the service has turned integration names into ids
# and reviewer names into user name keys.
_COLUMNS = {
    "integration": ITEMS.c.integration_id,
    "kind": ITEMS.c.account_kind,
    "email": ITEMS.c.email,
    "username": ITEMS.c.username,
    "role": ITEMS.c.role,
    "classification": ITEMS.c.classification,
    "department": ITEMS.c.department,
    "manager": ITEMS.c.manager_email,
    "reviewer": ITEMS.c.reviewer,
    "decision": ITEMS.c.decision,
    "remediation": ITEMS.c.remediation,
}


def _condition(condition: Condition) -> ColumnElement[bool]:
    column = _COLUMNS[condition.field]
    value: Any = condition.value
    if value is not None and condition.field == "integration":
        value = int(value)
    if value is None:
        return column.is_not(None) if condition.negated else column.is_(None)
    # `!=` keeps the items with no value at all (SQL's NULL != x is unknown).
    return column.is_distinct_from(value) if condition.negated else column == value


def _review_item(row: Any) -> ReviewItem:
    return ReviewItem(
        id=row.id,
        campaign_id=row.campaign_id,
        integration_id=row.integration_id,
        account_kind=row.account_kind,
        account_key=row.account_key,
        email=row.email,
        username=row.username,
        role=row.role,
        scopes=None if row.scopes is None else tuple(row.scopes),
        is_sso=row.is_sso,
        two_fa=row.two_fa,
        person_id=row.person_id,
        person_name=row.person_name,
        department=row.department,
        manager_email=row.manager_email,
        classification=row.classification,
        open_findings=tuple(row.open_findings),
        reviewer=row.reviewer,
        decision=None if row.decision is None else Decision(row.decision),
        new_role=row.new_role,
        reason=row.reason,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        remediation=Remediation(row.remediation),
        remediation_verified_at=row.remediation_verified_at,
    )


def list_items(
    session: Session,
    campaign_id: int,
    *,
    conditions: Sequence[Condition] = (),
    reviewer: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ReviewItem]:
    query = (
        select(ITEMS)
        .where(*_where(campaign_id, conditions, reviewer))
        .order_by(ITEMS.c.id)
        .offset(offset)
        .limit(limit)
    )
    return [_review_item(r) for r in session.execute(query)]


def iter_items(engine: Engine, campaign_id: int) -> Iterator[ReviewItem]:
    """Every item of a campaign in id order, a page at a time."""
    after = 0
    while True:
        with read_session(engine) as session:
            page = session.execute(
                select(ITEMS)
                .where(ITEMS.c.campaign_id == campaign_id, ITEMS.c.id > after)
                .order_by(ITEMS.c.id)
                .limit(PAGE)
            ).all()
        if not page:
            return
        after = page[-1].id
        yield from (_review_item(r) for r in page)


def snapshot_sha256(engine: Engine, campaign_id: int) -> str:
    """The snapshot's SHA-256 computed again from the stored items."""
    return snapshot_digest(
        {
            "item_id": i.id,
            "integration_id": i.integration_id,
            "account_kind": i.account_kind,
            "account_key": i.account_key,
            "email": i.email,
            "username": i.username,
            "role": i.role,
            "scopes": None if i.scopes is None else list(i.scopes),
            "is_sso": i.is_sso,
            "two_fa": None if i.two_fa is None else dict(i.two_fa),
            "person_id": i.person_id,
            "person_name": i.person_name,
            "department": i.department,
            "manager_email": i.manager_email,
            "classification": i.classification,
            "open_findings": [dict(f) for f in i.open_findings],
        }
        for i in iter_items(engine, campaign_id)
    )


def item_reviewers(
    session: Session, campaign_id: int, item_ids: Sequence[int]
) -> dict[int, str | None]:
    """The reviewer of each of `item_ids` that belongs to the campaign."""
    found: dict[int, str | None] = {}
    for start in range(0, len(item_ids), PAGE):
        chunk = item_ids[start : start + PAGE]
        query = select(ITEMS.c.id, ITEMS.c.reviewer).where(
            ITEMS.c.campaign_id == campaign_id, ITEMS.c.id.in_(chunk)
        )
        found.update(dict(session.execute(query).all()))
    return found


def count_undecided(session: Session, campaign_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                ITEMS.c.campaign_id == campaign_id, ITEMS.c.decision.is_(None)
            )
        )
        or 0
    )


# --- writing -------------------------------------------------------------------------


def lock_campaign(session: Session, campaign_id: int) -> Campaign:
    """The campaign, locked against a sign-off or decision beside this one."""
    row = session.scalar(
        select(ReviewCampaignRow)
        .where(ReviewCampaignRow.id == campaign_id)
        .with_for_update()
    )
    if row is None:
        raise RecordNotFoundError(f"no review campaign {campaign_id}")
    return _campaign(row, 0, 0)


def decide(
    session: Session,
    campaign_id: int,
    verdict: Verdict,
    *,
    actor: str | None,
    now: dt.datetime,
    item_ids: Sequence[int] | None = None,
    conditions: Sequence[Condition] = (),
    reviewer: str | None = None,
) -> int:
    """Write one verdict to the items given, or those the filter selects, in
    one UPDATE per page of ids (one in all for a filter); how many changed."""
    values = {
        "decision": verdict.decision.value,
        "new_role": None if verdict.new_role is None else verdict.new_role.value,
        "reason": verdict.reason,
        "decided_by": actor,
        "decided_at": now,
        "remediation": verdict.remediation.value,
        "remediation_checked_at": None,
        "remediation_verified_at": None,
    }
    where = _where(campaign_id, conditions, reviewer)
    if item_ids is None:
        result = session.execute(update(ITEMS).where(*where).values(values))
        return int(result.rowcount)  # type: ignore[attr-defined]
    changed = 0
    for start in range(0, len(item_ids), PAGE):
        chunk = item_ids[start : start + PAGE]
        result = session.execute(
            update(ITEMS).where(*where, ITEMS.c.id.in_(chunk)).values(values)
        )
        changed += int(result.rowcount)  # type: ignore[attr-defined]
    return changed


def sign_off(
    session: Session, campaign_id: int, *, actor: str | None, now: dt.datetime
) -> None:
    session.execute(
        update(ReviewCampaignRow)
        .where(ReviewCampaignRow.id == campaign_id)
        .values(
            status=CampaignStatus.CLOSED.value, signed_off_by=actor, signed_off_at=now
        )
    )


def set_review_owner(session: Session, integration_id: int, user: str | None) -> None:
    session.execute(
        update(IntegrationRow)
        .where(IntegrationRow.id == integration_id)
        .values(review_owner=user)
    )
