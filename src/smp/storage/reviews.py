"""Access review campaigns: the frozen snapshot at creation, then decisions.

Creation reads every present account of the chosen integrations from
`account_classifications` (kept current by each sync's reclassification)
with its member row (SSO), its teammate scopes (scopes and 2FA flags), its
person and its open findings, a few thousand accounts at a time in id order,
and writes the items in bulk (one multi-row INSERT per page). The snapshot's
SHA-256 is hashed as the pages go (smp.model.reviews.snapshot_digest), so
200,000 accounts never sit in memory at once.

A decision, one item or a whole filter, is one UPDATE. Functions take a
`Session` and never commit: the service owns the transaction. Reads live in
smp.storage.review_queries; the ones other modules use are named here too.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.orm import Session

from smp.model.findings import FindingStatus
from smp.model.people import AccountKind, domain_of, email_key
from smp.model.reviews import (
    SNAPSHOT_FIELDS,
    Campaign,
    CampaignStatus,
    Condition,
    Remediation,
    ReviewerRule,
    Verdict,
    snapshot_digest,
)
from smp.model.users import name_key
from smp.storage.engine import unmapped
from smp.storage.errors import DuplicateNameError, RecordNotFoundError
from smp.storage.review_queries import (
    ITEMS,
    PAGE,
    campaign,
    campaign_record,
    count_items,
    count_selected,
    count_undecided,
    get_item,
    item_conditions,
    item_reviewers,
    iter_items,
    list_campaigns,
    list_items,
    snapshot_sha256,
)
from smp.storage.tables import (
    AccountClassificationRow,
    CompanyDomainRow,
    FindingRow,
    IntegrationRow,
    MemberRow,
    PersonRow,
    ReviewCampaignRow,
    TeammateScopeRow,
    UserRow,
)

__all__ = [
    "campaign",
    "count_items",
    "count_selected",
    "count_undecided",
    "create_campaign",
    "decide",
    "get_item",
    "item_reviewers",
    "iter_items",
    "list_campaigns",
    "list_items",
    "lock_campaign",
    "set_review_owner",
    "sign_off",
    "snapshot_sha256",
]
Progress = Callable[[int], None]


def campaign_key(name: str) -> str:
    return " ".join(name.split()).casefold()


# Plain strings: an enum's .value costs a lookup per item, 200,000 times.
_TEAMMATE = AccountKind.TEAMMATE.value
_NOTHING_TO_DO = Remediation.NONE.value


# --- creation ------------------------------------------------------------------------


def _source_page(
    session: Session, integration_ids: Sequence[int], after: int
) -> list[Any]:
    ac, m, ts, p = AccountClassificationRow, MemberRow, TeammateScopeRow, PersonRow
    member_kinds = (AccountKind.TEAMMATE.value, AccountKind.INVITE.value)
    # The page's ids first, then the joins for those alone: a planner
    # without statistics would otherwise join every remaining account and
    # sort them all, for each page (PostgreSQL after a first import).
    ids = (
        select(ac.id)
        .where(
            # Neither `IS true` nor a bare IN: SQLite would walk the (present,
            # …) or (integration_id, …) index and sort every page again, which
            # grows with the square of the accounts. Hidden from the index
            # (`+ 0`), the walk stays on the primary key, in id order, once.
            ac.present.is_not(False),
            (ac.integration_id + 0).in_(integration_ids),
            ac.id > after,
        )
        .order_by(ac.id)
        .limit(PAGE)
        .subquery()
    )
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
        .select_from(ids)
        .join(ac, ac.id == ids.c.id)
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
        .order_by(ac.id)
    )
    return list(session.execute(query))


Findings = dict[tuple[int, str], list[dict[str, Any]]]


class _OpenFindings:
    """Open findings by (integration, subject): a member key or a subuser's
    username, as the rules name them.

    Read a whole integration at a time, without a list of thousands of
    subjects in the query (building it costs more than reading a few
    findings too many), and kept while pages hold that integration's accounts.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._loaded: set[int] = set()
        self.found: Findings = defaultdict(list)

    def cover(self, integration_ids: set[int]) -> None:
        gone = self._loaded - integration_ids
        if gone:
            self.found = defaultdict(
                list, {k: v for k, v in self.found.items() if k[0] not in gone}
            )
            self._loaded -= gone
        missing = integration_ids - self._loaded
        if not missing:
            return
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
                FindingRow.integration_id.in_(missing),
                FindingRow.status == FindingStatus.OPEN.value,
            )
            .order_by(FindingRow.id)
        )
        for fid, iid, subject, rule, severity, title in self._session.execute(query):
            self.found[(iid, subject)].append(
                {"id": fid, "rule": rule, "severity": severity, "title": title}
            )
        self._loaded |= missing


def _company_user(email: str | None, domains: set[str]) -> str | None:
    """The SMP user name an e-mail stands for: SMP user names hold no `@`,
    so the e-mail's local part (`alice.smith@corp…` -> `alice.smith`), and
    only on a company domain (`boss@partner.com` is nobody in SMP)."""
    if not email:
        return None
    key = email_key(email)
    if "@" not in key or domain_of(key) not in domains:
        return None
    return name_key(key.rpartition("@")[0])


def _reviewer(
    rule: ReviewerRule,
    owner: str | None,
    email: str | None,
    manager_email: str | None,
    people: _People,
) -> str | None:
    """The manager (an SMP user, by a company e-mail), else the integration's
    owner, else the admins (None); never the account's own holder: nobody
    reviews their own access, so the admins do."""
    reviewer = owner
    if rule is ReviewerRule.MANAGER:
        manager = _company_user(manager_email, people.domains)
        if manager in people.users:
            reviewer = manager
    if reviewer is not None and reviewer == _company_user(email, people.domains):
        return None
    return reviewer


def _person_name(first: str | None, last: str | None) -> str | None:
    if first and last:
        return f"{first} {last}"
    return first or last or None


@dataclass(frozen=True, slots=True)
class _People:
    """Who may review: SMP's user names and the company's domains."""

    users: set[str]
    domains: set[str]


def _item(
    source: Any,
    rule: ReviewerRule,
    owners: Mapping[int, str | None],
    people: _People,
    findings: Findings,
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
    reviewer = _reviewer(rule, owners.get(iid), email, manager_email, people)
    read = kind == _TEAMMATE and scopes is not None
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
    _one_creation(session)
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
    people = _People(
        set(session.scalars(select(UserRow.name))),
        set(session.scalars(select(CompanyDomainRow.domain))),
    )
    # One pass over every account (see unmapped); _freeze writes the items as
    # the digest consumes it, so both happen inside.
    with unmapped(session):
        row.snapshot_sha256 = snapshot_digest(
            _freeze(
                session, row.id, sorted(integration_ids), rule, owners, people, progress
            )
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
    values += [reviewer, _NOTHING_TO_DO]
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

    Only creation inserts items, one creation at a time (`_one_creation`):
    PostgreSQL moves the table's sequence past a block in one call (a
    nextval per id cost more than writing the items); SQLite continues after
    the largest id under its one write lock (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name == "postgresql":
        last = session.scalar(
            text(
                "SELECT setval(s.seq, nextval(s.seq) + :n - 1) FROM"
                " (SELECT pg_get_serial_sequence('review_items', 'id')::regclass"
                " AS seq) AS s"
            ),
            {"n": count},
        )
        assert last is not None
        return list(range(last - count + 1, last + 1))
    last = session.scalar(select(func.max(ITEMS.c.id))) or 0
    return list(range(last + 1, last + 1 + count))


def _one_creation(session: Session) -> None:
    """PostgreSQL: no other campaign is created in this transaction's time
    (keyed by schema: two SMPs in one database do not wait for each other)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || :n))"),
            {"n": "smp.reviews.create"},
        )


def _freeze(
    session: Session,
    campaign_id: int,
    integration_ids: Sequence[int],
    rule: ReviewerRule,
    owners: Mapping[int, str | None],
    people: _People,
    progress: Progress | None,
) -> Iterator[dict[str, Any]]:
    """Insert the items page by page; yield each one's frozen fields with its id."""
    after, done = 0, 0
    findings = _OpenFindings(session)
    while page := _source_page(session, integration_ids, after):
        after = page[-1][0]
        findings.cover({r[1] for r in page})
        items = [_item(r, rule, owners, people, findings.found) for r in page]
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
    return campaign_record(row, 0, 0)


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
        "remediation_since": None,
    }
    where = item_conditions(campaign_id, conditions, reviewer)
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
