"""SQLAlchemy 2 tables. Every synced row records the key that fetched it.

Provenance columns: `source_service_account_id` (the key), `synced_at` (when it
was last written) and, where useful, `sync_run_id`. Removing a key never
deletes these rows; readers join `service_accounts.removed_at` to show the
source as removed. Enum-like columns are short strings (values of the
`smp.model` StrEnums) so migrations stay simple on both dialects.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from smp.storage.types import DecimalText, UtcDateTime

# Named constraints: Alembic's batch mode on SQLite needs names to alter them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {dt.datetime: UtcDateTime()}  # noqa: RUF012


def _integration_fk() -> Any:
    return ForeignKey("integrations.id", ondelete="CASCADE")


def _source_fk() -> Any:
    return ForeignKey("service_accounts.id", ondelete="SET NULL")


class IntegrationRow(Base):
    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # casefold()ed name: unique without case, for any script (SQLite's lower() is ASCII)
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    region: Mapped[str] = mapped_column(String(16))
    # Set only to reach something other than SendGrid itself (the simulator).
    base_url: Mapped[str | None] = mapped_column(String(500))
    sync_interval_s: Mapped[int | None]
    created_at: Mapped[dt.datetime]
    last_sync_at: Mapped[dt.datetime | None]
    billing_confirmed_by: Mapped[str | None] = mapped_column(String(200))
    billing_confirmed_at: Mapped[dt.datetime | None]
    # The SMP user who reviews this integration's accounts (reviewer rule
    # `owner`, and the fallback of `manager`); None = the admins.
    review_owner: Mapped[str | None] = mapped_column(String(64))


class ServiceAccountRow(Base):
    __tablename__ = "service_accounts"
    __table_args__ = (Index("ix_service_accounts_integration", "integration_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    key_id: Mapped[str] = mapped_column(String(64))
    encrypted_secret: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    capabilities: Mapped[list[str]] = mapped_column(JSON)
    missing: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(32))
    last_sync_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    removed_at: Mapped[dt.datetime | None]


class SyncRunRow(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_integration", "integration_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    trigger: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSON)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    rate_limit_waits: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[str]] = mapped_column(JSON)


class AccountIdentityRow(Base):
    __tablename__ = "account_identities"

    integration_id: Mapped[int] = mapped_column(_integration_fk(), primary_key=True)
    username: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    account_type: Mapped[str | None] = mapped_column(String(32))
    source_service_account_id: Mapped[int | None] = mapped_column(_source_fk())
    synced_at: Mapped[dt.datetime]


class MemberRow(Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("integration_id", "member_key"),
        Index("ix_members_status_role", "integration_id", "status", "role"),
        Index("ix_members_username", "integration_id", "username"),
        Index("ix_members_first_seen", "integration_id", "first_seen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    member_key: Mapped[str] = mapped_column(String(320))
    email: Mapped[str | None] = mapped_column(String(320))
    username: Mapped[str | None] = mapped_column(String(200))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    # Casefolded key and names for search; its trigram index lives outside this
    # metadata (migration 0003, smp.storage.search).
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    is_sso: Mapped[bool | None] = mapped_column(Boolean)
    invite_expires_at: Mapped[dt.datetime | None]
    expiry_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[dt.datetime]
    # When a listing last held it: the sync's bookkeeping, never shown as
    # activity (SendGrid has no last-login data).
    last_seen: Mapped[dt.datetime]
    removed_at: Mapped[dt.datetime | None]
    source_service_account_id: Mapped[int | None] = mapped_column(_source_fk())
    sync_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("sync_runs.id", ondelete="SET NULL")
    )


class MemberEventRow(Base):
    __tablename__ = "member_events"
    __table_args__ = (
        Index("ix_member_events_time", "integration_id", "occurred_at"),
        # Each members or invites write looks up the integration's baseline.
        Index("ix_member_events_kind", "integration_id", "kind"),
        Index("ix_member_events_member", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    # Both None only for the integration's one `baseline` event.
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    member_key: Mapped[str | None] = mapped_column(String(320))
    email: Mapped[str | None] = mapped_column(String(320))
    username: Mapped[str | None] = mapped_column(String(200))
    old_role: Mapped[str | None] = mapped_column(String(16))
    new_role: Mapped[str | None] = mapped_column(String(16))
    occurred_at: Mapped[dt.datetime]
    # `baseline` only: the first members and invites listings' sizes.
    members_found: Mapped[int | None] = mapped_column(Integer)
    invites_found: Mapped[int | None] = mapped_column(Integer)
    source_service_account_id: Mapped[int | None] = mapped_column(_source_fk())
    sync_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("sync_runs.id", ondelete="SET NULL")
    )


class SubuserRow(Base):
    __tablename__ = "subusers"
    __table_args__ = (UniqueConstraint("integration_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    username: Mapped[str] = mapped_column(String(200))
    sendgrid_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    region: Mapped[str | None] = mapped_column(String(16))
    credit_type: Mapped[str | None] = mapped_column(String(32))
    credits_total: Mapped[int | None] = mapped_column(BigInteger)
    credits_used: Mapped[int | None] = mapped_column(BigInteger)
    credits_remain: Mapped[int | None] = mapped_column(BigInteger)
    reset_frequency: Mapped[str | None] = mapped_column(String(16))
    first_seen: Mapped[dt.datetime]
    last_seen: Mapped[dt.datetime]
    removed_at: Mapped[dt.datetime | None]
    source_service_account_id: Mapped[int | None] = mapped_column(_source_fk())
    synced_at: Mapped[dt.datetime]
    # When the credits were last read, and a digest of the open months'
    # figures they were read with (smp.sync.freshness); written together.
    credits_read_at: Mapped[dt.datetime | None]
    credits_basis: Mapped[str | None] = mapped_column(String(64))


class UsagePeriodRow(Base):
    """One row per integration + subuser ('' = the account) + period start."""

    __tablename__ = "usage_periods"
    __table_args__ = (UniqueConstraint("integration_id", "subuser", "last_reset"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    subuser: Mapped[str] = mapped_column(String(200))
    last_reset: Mapped[dt.date] = mapped_column(Date)
    next_reset: Mapped[dt.date | None] = mapped_column(Date)
    reset_frequency: Mapped[str | None] = mapped_column(String(16))
    credit_type: Mapped[str | None] = mapped_column(String(32))
    total: Mapped[int | None] = mapped_column(BigInteger)
    used: Mapped[int | None] = mapped_column(BigInteger)
    remain: Mapped[int | None] = mapped_column(BigInteger)
    overage: Mapped[int | None] = mapped_column(BigInteger)
    source_service_account_id: Mapped[int | None] = mapped_column(_source_fk())
    sync_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("sync_runs.id", ondelete="SET NULL")
    )
    synced_at: Mapped[dt.datetime]


VOLUME_METRICS = (
    "requests",
    "processed",
    "delivered",
    "deferred",
    "bounces",
    "bounce_drops",
    "blocks",
    "invalid_emails",
    "spam_reports",
    "spam_report_drops",
    "unsubscribes",
    "unsubscribe_drops",
    "opens",
    "unique_opens",
    "clicks",
    "unique_clicks",
)


class MonthlyVolumeRow(Base):
    """One row per integration + subuser ('' = the account) + month."""

    __tablename__ = "monthly_volumes"
    __table_args__ = (UniqueConstraint("integration_id", "subuser", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    subuser: Mapped[str] = mapped_column(String(200))
    month: Mapped[dt.date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    processed: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)
    deferred: Mapped[int] = mapped_column(BigInteger, default=0)
    bounces: Mapped[int] = mapped_column(BigInteger, default=0)
    bounce_drops: Mapped[int] = mapped_column(BigInteger, default=0)
    blocks: Mapped[int] = mapped_column(BigInteger, default=0)
    invalid_emails: Mapped[int] = mapped_column(BigInteger, default=0)
    spam_reports: Mapped[int] = mapped_column(BigInteger, default=0)
    spam_report_drops: Mapped[int] = mapped_column(BigInteger, default=0)
    unsubscribes: Mapped[int] = mapped_column(BigInteger, default=0)
    unsubscribe_drops: Mapped[int] = mapped_column(BigInteger, default=0)
    opens: Mapped[int] = mapped_column(BigInteger, default=0)
    unique_opens: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    unique_clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    source_service_account_id: Mapped[int | None] = mapped_column(_source_fk())
    sync_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("sync_runs.id", ondelete="SET NULL")
    )
    synced_at: Mapped[dt.datetime]


class InvoiceRow(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("integration_id", "invoice_id"),
        Index("ix_invoices_date", "integration_id", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    invoice_id: Mapped[str] = mapped_column(String(100))
    number: Mapped[str | None] = mapped_column(String(100))
    date: Mapped[dt.date | None] = mapped_column(Date)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    amount: Mapped[Decimal | None] = mapped_column(DecimalText())
    currency: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str | None] = mapped_column(String(32))
    balance: Mapped[Decimal | None] = mapped_column(DecimalText())
    source_service_account_id: Mapped[int | None] = mapped_column(_source_fk())
    first_seen: Mapped[dt.datetime]
    synced_at: Mapped[dt.datetime]


class IntegrationLockRow(Base):
    """SQLite's lock: a lease row per integration that a crashed owner lets expire."""

    __tablename__ = "integration_locks"

    integration_id: Mapped[int] = mapped_column(_integration_fk(), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime]


# --- users of SMP itself (web UI and API) -------------------------------------------


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The lookup key (smp.model.users.name_key), so "Alice Smith" is one user
    # however it is cased or spaced; display_name is the name as it was typed.
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    # scrypt$<n>$<r>$<p>$<salt>$<hash>: never the password itself
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime]
    # IANA name the UI shows times in; times are stored in UTC regardless.
    time_zone: Mapped[str] = mapped_column(
        String(64), default="UTC", server_default="UTC"
    )


class ApiTokenRow(Base):
    """A bearer token: only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]


class WebSessionRow(Base):
    """A browser session: the cookie holds a random id, the table its SHA-256."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user", "user_id"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]


class LoginFailureRow(Base):
    """One failed login, per user name and per client address, for throttling."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_subject", "subject", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[dt.datetime]


# --- the company's people and how SendGrid accounts match them (smp.model.people) ---


class PersonRow(Base):
    """A person of the directory. Never deleted: `gone` keeps them for history."""

    __tablename__ = "people"
    __table_args__ = (
        Index("ix_people_email_key", "email_key"),
        Index("ix_people_source", "source", "email_key"),
        Index("ix_people_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The file's name without extension, or "scim".
    source: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    # smp.model.people.email_key(email): NFKC + casefold, what matching compares.
    email_key: Mapped[str] = mapped_column(String(320))
    employee_id: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))
    manager_email: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    # Other e-mails of the person, as given (matching normalises them).
    aliases: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # When SMP learnt the person was terminated or gone; None while not.
    terminated_at: Mapped[dt.datetime | None]
    # SCIM only: the userName (unique among SCIM people) and the whole
    # resource as the client last wrote it, so it reads back unchanged.
    scim_user_name: Mapped[str | None] = mapped_column(String(320), unique=True)
    scim_resource: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class CompanyDomainRow(Base):
    """A domain of the company: accounts on it with no person are unknown_internal."""

    __tablename__ = "company_domains"

    # smp.model.people.domain_key form
    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    created_at: Mapped[dt.datetime]


class AccountLinkRow(Base):
    """A manual link of an account e-mail to a person; wins over matching."""

    __tablename__ = "account_links"

    email_key: Mapped[str] = mapped_column(String(320), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]


class AccountClassificationRow(Base):
    """Each SendGrid account's match and classification, kept between syncs.

    Rewritten by every reclassification; the leaver and offboarding times are
    carried over, so they record when things first happened.
    """

    __tablename__ = "account_classifications"
    __table_args__ = (
        UniqueConstraint("integration_id", "kind", "account_key"),
        # With id last, PostgreSQL too walks one classification in id order
        # (SQLite appends the rowid to every index by itself).
        Index("ix_account_classifications_class", "present", "classification", "id"),
        # One integration's flagged accounts, read after each of its syncs:
        # without it SQLite walks the class index above over every integration.
        Index(
            "ix_account_classifications_integration",
            "integration_id",
            "present",
            "classification",
        ),
        Index("ix_account_classifications_person", "person_id"),
        # A directory change reclassifies only the accounts of the e-mails it
        # touched: found by key, across integrations.
        Index("ix_account_classifications_email_key", "email_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    # teammate | invite | subuser
    kind: Mapped[str] = mapped_column(String(16))
    # members.member_key, or the subuser's username
    account_key: Mapped[str] = mapped_column(String(320))
    email: Mapped[str | None] = mapped_column(String(320))
    # smp.model.people.email_key(email); None without an e-mail.
    email_key: Mapped[str | None] = mapped_column(String(320))
    username: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(16))
    # active | pending | disabled (subusers) | removed
    status: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )
    matched_by: Mapped[str | None] = mapped_column(String(16))
    classification: Mapped[str] = mapped_column(String(24))
    # Why an account is ambiguous (which people claim it), else None.
    ambiguity: Mapped[str | None] = mapped_column(Text)
    # False once SendGrid no longer lists the account.
    present: Mapped[bool] = mapped_column(Boolean, default=True)
    leaver_since: Mapped[dt.datetime | None]
    removed_at: Mapped[dt.datetime | None]
    # Seconds from the person's termination to the account's removal.
    offboarding_lag_s: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime]


class ScimTokenRow(Base):
    """A SCIM-only bearer token: only its SHA-256 is stored; it opens /scim/v2 only."""

    __tablename__ = "scim_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]


# --- findings: what needs action in each integration (smp.model.findings) ---------


class FindingRow(Base):
    """One rule's observation of one subject, kept across syncs (docs/findings.md).

    `episode` counts the times the condition started: a resolved finding that
    returns is reopened with episode + 1, so (id, episode) names each occurrence
    that deserves its own alert.
    """

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("integration_id", "rule", "subject_key"),
        Index("ix_findings_status", "status", "severity", "id"),
        Index("ix_findings_integration_status", "integration_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    rule: Mapped[str] = mapped_column(String(64))
    # Stable between syncs (a member key, a subuser's username, "account").
    subject_key: Mapped[str] = mapped_column(String(320))
    subject_label: Mapped[str] = mapped_column(String(320))
    # high | medium | low
    severity: Mapped[str] = mapped_column(String(8))
    # open | resolved | accepted | snoozed
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_seen: Mapped[dt.datetime]
    # The last evaluation that still saw the condition.
    last_seen: Mapped[dt.datetime]
    resolved_at: Mapped[dt.datetime | None]
    snoozed_until: Mapped[dt.datetime | None]
    episode: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # When the current episode began (first_seen for episode 1).
    episode_opened_at: Mapped[dt.datetime]
    # The last change of status: when, by whom (None = SMP itself), and why.
    status_changed_at: Mapped[dt.datetime]
    status_by: Mapped[str | None] = mapped_column(String(64))
    status_reason: Mapped[str | None] = mapped_column(Text)


class FindingEventRow(Base):
    """Append-only history of a finding: opened, resolved, reopened, accepted, …"""

    __tablename__ = "finding_events"
    __table_args__ = (
        Index("ix_finding_events_finding", "finding_id", "id"),
        Index("ix_finding_events_integration", "integration_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(
        ForeignKey("findings.id", ondelete="CASCADE")
    )
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    episode: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    # An SMP user's name, "command line", or None for SMP's own evaluation.
    actor: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    snoozed_until: Mapped[dt.datetime | None]
    occurred_at: Mapped[dt.datetime]


class FindingThresholdDefaultRow(Base):
    """A global threshold that replaces a rule's built-in default."""

    __tablename__ = "finding_threshold_defaults"

    rule: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime]


class FindingThresholdOverrideRow(Base):
    """One integration's threshold: wins over the global one and the built-in."""

    __tablename__ = "finding_threshold_overrides"

    integration_id: Mapped[int] = mapped_column(_integration_fk(), primary_key=True)
    rule: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime]


class PostureScoreRow(Base):
    """An integration's posture score at one evaluation, for its trend."""

    __tablename__ = "posture_scores"
    __table_args__ = (
        Index("ix_posture_scores_integration", "integration_id", "evaluated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    evaluated_at: Mapped[dt.datetime]
    score: Mapped[int] = mapped_column(Integer)
    # Open findings by severity the score was computed from.
    high: Mapped[int] = mapped_column(Integer)
    medium: Mapped[int] = mapped_column(Integer)
    low: Mapped[int] = mapped_column(Integer)


# --- SSO, IP access and validation (issue M) -------------------------------------
# Replaced or merged by each sync that can read them (smp.storage.access);
# every row belongs to an integration and goes with it.


class SsoIntegrationRow(Base):
    """One SAML integration of the account (`GET /v3/sso/integrations`)."""

    __tablename__ = "sso_integrations"
    __table_args__ = (UniqueConstraint("integration_id", "sso_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    sso_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean)
    # Only with `?si=true`; None when SendGrid left it out.
    completed: Mapped[bool | None] = mapped_column(Boolean)
    last_updated: Mapped[dt.datetime | None]
    source_service_account_id: Mapped[int | None] = mapped_column(_source_fk())
    first_seen: Mapped[dt.datetime]
    synced_at: Mapped[dt.datetime]


class SsoCertificateRow(Base):
    """An SSO integration's certificate; `not_after` is when it expires."""

    __tablename__ = "sso_certificates"
    __table_args__ = (UniqueConstraint("integration_id", "sso_id", "cert_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    sso_id: Mapped[str] = mapped_column(String(100))
    cert_id: Mapped[str] = mapped_column(String(100))
    not_before: Mapped[dt.datetime | None]
    not_after: Mapped[dt.datetime | None]
    source_service_account_id: Mapped[int | None] = mapped_column(_source_fk())
    first_seen: Mapped[dt.datetime]
    synced_at: Mapped[dt.datetime]


class IpAllowlistRow(Base):
    """One rule of the IP allowlist; no rows while readable = no allowlist."""

    __tablename__ = "ip_allowlist"
    __table_args__ = (UniqueConstraint("integration_id", "rule_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    rule_id: Mapped[str] = mapped_column(String(100))
    ip: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime | None]
    source_service_account_id: Mapped[int | None] = mapped_column(_source_fk())
    first_seen: Mapped[dt.datetime]
    synced_at: Mapped[dt.datetime]


class AccessAttemptRow(Base):
    """Recent access from one IP address (per IP, never per teammate).

    SendGrid lists only the latest addresses, so SMP keeps every one it has
    seen: `first_at`/`last_at` are SendGrid's, widened across syncs.
    """

    __tablename__ = "access_attempts"
    __table_args__ = (
        UniqueConstraint("integration_id", "ip"),
        Index("ix_access_attempts_last_at", "integration_id", "last_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    ip: Mapped[str] = mapped_column(String(100))
    allowed: Mapped[bool] = mapped_column(Boolean)
    auth_method: Mapped[str | None] = mapped_column(String(50))
    location: Mapped[str | None] = mapped_column(String(200))
    first_at: Mapped[dt.datetime | None]
    last_at: Mapped[dt.datetime | None]
    source_service_account_id: Mapped[int | None] = mapped_column(_source_fk())
    first_seen: Mapped[dt.datetime]
    synced_at: Mapped[dt.datetime]


class ValidationJobRow(Base):
    """A bulk e-mail validation job; `segments` hold up to 1,500 addresses each."""

    __tablename__ = "validation_jobs"
    __table_args__ = (
        UniqueConstraint("integration_id", "job_id"),
        Index("ix_validation_jobs_started", "integration_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    job_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    # None until SMP has read the job's details.
    segments: Mapped[int | None] = mapped_column(BigInteger)
    segments_processed: Mapped[int | None] = mapped_column(BigInteger)
    source_service_account_id: Mapped[int | None] = mapped_column(_source_fk())
    first_seen: Mapped[dt.datetime]
    synced_at: Mapped[dt.datetime]


# --- API keys and teammate scopes (issue M) -------------------------------------


class ApiKeyRow(Base):
    """One SendGrid API key of the account as SMP last saw it.

    SendGrid tells neither when a key was created nor when it was last used:
    `first_seen`/`last_seen` are SMP's own sightings, never shown as either.
    """

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("integration_id", "key_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    key_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    first_seen: Mapped[dt.datetime]
    last_seen: Mapped[dt.datetime]
    # When its scopes last changed (its first sighting until they do).
    scopes_changed_at: Mapped[dt.datetime]
    # False once SendGrid no longer lists the key (deleted or revoked).
    present: Mapped[bool] = mapped_column(Boolean, default=True)
    removed_at: Mapped[dt.datetime | None]


class ApiKeyScopeChangeRow(Base):
    """A key's scopes as first seen, then each change between two syncs."""

    __tablename__ = "api_key_scope_changes"
    __table_args__ = (
        Index("ix_api_key_scope_changes_key", "integration_id", "key_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    key_id: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[dt.datetime]
    # first_seen | changed
    change: Mapped[str] = mapped_column(String(16))
    added: Mapped[list[str]] = mapped_column(JSON)
    removed: Mapped[list[str]] = mapped_column(JSON)


class TeammateScopeRow(Base):
    """A teammate's scopes from `GET /v3/teammates/{username}`, read in turns.

    `user_type` is the role the teammate had when read: a different role in
    a later listing makes the teammate due again (docs/adr/0021).
    """

    __tablename__ = "teammate_scopes"
    __table_args__ = (
        UniqueConstraint("integration_id", "username"),
        Index("ix_teammate_scopes_fetched", "integration_id", "fetched_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(_integration_fk())
    username: Mapped[str] = mapped_column(String(200))
    user_type: Mapped[str] = mapped_column(String(16))
    # Permission scopes only; SendGrid's 2FA flags are the two columns below.
    scopes: Mapped[list[str]] = mapped_column(JSON)
    two_factor_required: Mapped[bool] = mapped_column(Boolean, default=False)
    two_factor_exempt: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[dt.datetime]


# --- alerts: where findings are sent, and each delivery once (smp.storage.alerts) ---


class AlertChannelRow(Base):
    """An e-mail, Slack, Teams or webhook destination for findings (docs/alerts.md).

    Secrets (the SMTP password, the webhook URL, the HMAC secret) live only in
    `encrypted_secret`, one Fernet token of a JSON object; `settings` holds what
    may be shown.
    """

    __tablename__ = "alert_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # casefold()ed name: unique without case
    name_key: Mapped[str] = mapped_column(String(100), unique=True)
    # email | slack | teams | webhook
    kind: Mapped[str] = mapped_column(String(16))
    # high | medium | low: findings below it are not sent to this channel
    min_severity: Mapped[str] = mapped_column(String(8))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    encrypted_secret: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]


class AlertDeliveryRow(Base):
    """One finding's episode sent to one channel: unique, so it is sent once.

    A deliverer claims a row by setting `claim_token` and `claimed_until` in one
    UPDATE that only matches unclaimed (or expired) pending rows; whoever's
    UPDATE matched sends it. No integration_id: the row goes with its finding.
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("channel_id", "finding_id", "episode"),
        Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
        Index("ix_alert_deliveries_finding", "finding_id"),
        Index("ix_alert_deliveries_claim", "claim_token"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("alert_channels.id", ondelete="CASCADE")
    )
    finding_id: Mapped[int] = mapped_column(
        ForeignKey("findings.id", ondelete="CASCADE")
    )
    episode: Mapped[int] = mapped_column(Integer)
    # immediate (high severity) | digest (the daily message)
    timing: Mapped[str] = mapped_column(String(16))
    # pending | sent | skipped (no longer open when due) | failed (gave up)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[dt.datetime | None]
    # The last failure, one line, never a secret.
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]


# --- access reviews: campaigns and their frozen items (docs/reviews.md) ---


class ReviewCampaignRow(Base):
    """An access review of some integrations' accounts, frozen at creation."""

    __tablename__ = "review_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # casefold()ed name: unique without case
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    # open | closed
    status: Mapped[str] = mapped_column(String(16))
    integration_ids: Mapped[list[int]] = mapped_column(JSON)
    due: Mapped[dt.date | None] = mapped_column(Date)
    # owner | manager
    reviewer_rule: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    signed_off_by: Mapped[str | None] = mapped_column(String(64))
    signed_off_at: Mapped[dt.datetime | None]
    # SHA-256 of the items' frozen fields as canonical JSON, in item-id order
    # (smp.model.reviews.snapshot_digest): the evidence pack states it.
    snapshot_sha256: Mapped[str] = mapped_column(String(64))
    reminded_at: Mapped[dt.datetime | None]


class ReviewItemRow(Base):
    """One account of a campaign: its frozen snapshot, then the decision."""

    __tablename__ = "review_items"
    __table_args__ = (
        Index("ix_review_items_campaign", "campaign_id", "id"),
        Index("ix_review_items_reviewer", "campaign_id", "reviewer"),
        Index("ix_review_items_decision", "campaign_id", "decision"),
        # The remediation check after each sync reads one integration's
        # revoke and modify decisions (smp.storage.review_remediation).
        Index("ix_review_items_integration", "integration_id", "decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("review_campaigns.id", ondelete="CASCADE")
    )
    # Not a foreign key: the snapshot outlives a removed integration.
    integration_id: Mapped[int] = mapped_column(Integer)
    # teammate | invite | subuser
    account_kind: Mapped[str] = mapped_column(String(16))
    account_key: Mapped[str] = mapped_column(String(320))
    email: Mapped[str | None] = mapped_column(String(320))
    username: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(16))
    # None = not read (subusers, teammates whose scopes are not read yet).
    scopes: Mapped[list[str] | None] = mapped_column(JSON)
    is_sso: Mapped[bool | None] = mapped_column(Boolean)
    # {"2fa_exempt": bool, "2fa_required": bool}, or None = not read.
    two_fa: Mapped[dict[str, bool] | None] = mapped_column(JSON)
    person_id: Mapped[int | None] = mapped_column(Integer)
    person_name: Mapped[str | None] = mapped_column(String(400))
    department: Mapped[str | None] = mapped_column(String(200))
    manager_email: Mapped[str | None] = mapped_column(String(320))
    classification: Mapped[str] = mapped_column(String(24))
    # [{"id", "rule", "severity", "title"}] open when the campaign started.
    open_findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # SMP user name; None = the admins.
    reviewer: Mapped[str | None] = mapped_column(String(64))
    # keep | revoke | modify; None = undecided
    decision: Mapped[str | None] = mapped_column(String(8))
    new_role: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None]
    # none (keep, undecided) | pending (revoke, modify) | verified | overdue
    remediation: Mapped[str] = mapped_column(String(16), default="none")
    remediation_checked_at: Mapped[dt.datetime | None]
    # When a sync saw the change made in SendGrid.
    remediation_verified_at: Mapped[dt.datetime | None]
    # When a sync saw a verified change undone (the account back, the role
    # changed again): the wait for the change counts from then. None: from
    # the decision.
    remediation_since: Mapped[dt.datetime | None]


class AuditEventRow(Base):
    """One entry of the append-only audit trail (smp.model.audit, docs/audit.md).

    Ids are assigned by SMP (the head's last id + 1), never by a sequence, so
    they have no gaps and a deleted row shows as one.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_occurred_at", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime]
    # The SMP user (or `cli:NAME`, a SCIM token's label); None = SMP itself.
    actor: Mapped[str | None] = mapped_column(String(64))
    # The client address, or cli | scheduler | worker
    source: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(320))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The single row (id 1) naming the trail's last entry, updated with each append.

    Without it, deleting the newest entries would leave a shorter chain that
    still verifies.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
