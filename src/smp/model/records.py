"""Domain records: what the sync engine hands to storage and what queries return.

Plain frozen dataclasses, so they are cheap, hashable and free of I/O. Fields
named `source_service_account_id` carry provenance: the key that fetched the
record. `source_removed` tells a reader that this key has since been removed
(the data is kept).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from smp.model.enums import (
    EventKind,
    KeyStatus,
    MemberStatus,
    Outcome,
    Role,
)
from smp.vocabulary import KeyKind

# --- what SendGrid listed, already normalized by the sync engine ----------------


@dataclass(frozen=True, slots=True)
class ListedTeammate:
    """One entry of `GET /v3/teammates` (an active member)."""

    username: str
    email: str | None
    first_name: str | None = None
    last_name: str | None = None
    role: Role = Role.USER
    is_sso: bool | None = None


@dataclass(frozen=True, slots=True)
class ListedInvite:
    """One entry of `GET /v3/teammates/pending`."""

    email: str
    is_admin: bool = False
    expires_at: dt.datetime | None = None
    token: str | None = None


# --- stored records ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Integration:
    id: int
    name: str
    region: str
    created_at: dt.datetime
    base_url: str | None = None
    sync_interval_s: int | None = None
    last_sync_at: dt.datetime | None = None
    # SendGrid cannot say whose a billing key is: who vouched that it is this
    # account's, and when.
    billing_confirmed_by: str | None = None
    billing_confirmed_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """One SendGrid API key. The secret is only ever held encrypted here."""

    id: int
    integration_id: int
    label: str
    kind: KeyKind
    key_id: str
    status: KeyStatus
    scopes: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    # capability -> the scopes it still lacks, e.g. {"members": ["teammates.read"]}
    missing: dict[str, list[str]] = field(default_factory=dict)
    last_sync_at: dt.datetime | None = None
    last_error: str | None = None
    created_at: dt.datetime | None = None
    removed_at: dt.datetime | None = None
    encrypted_secret: str = field(default="", repr=False)

    @property
    def display_key(self) -> str:
        return f"SG.{self.key_id}…"

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None


@dataclass(frozen=True, slots=True)
class AccountIdentity:
    username: str
    user_id: int | None = None
    account_type: str | None = None  # free | paid
    source_service_account_id: int | None = None
    synced_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Member:
    email: str | None
    username: str | None
    role: Role
    status: MemberStatus
    first_name: str | None = None
    last_name: str | None = None
    is_sso: bool | None = None
    invite_expires_at: dt.datetime | None = None
    # When SMP first listed it and when it saw it gone: SendGrid tells neither
    # when a member joined nor when one last signed in.
    first_seen: dt.datetime | None = None
    removed_at: dt.datetime | None = None
    source_service_account_id: int | None = None
    source_removed: bool = False
    id: int | None = None

    def invite_expired(self, now: dt.datetime) -> bool | None:
        """A pending invite past its expiration date (None: not an invite)."""
        if self.status is not MemberStatus.PENDING:
            return None
        return self.invite_expires_at is not None and self.invite_expires_at <= now


@dataclass(frozen=True, slots=True)
class MemberEvent:
    kind: EventKind
    member_key: str | None  # None only for the integration's BASELINE event
    occurred_at: dt.datetime
    email: str | None = None
    username: str | None = None
    old_role: Role | None = None
    new_role: Role | None = None
    source_service_account_id: int | None = None
    id: int | None = None
    # BASELINE only: what the first listings held (None: not read yet).
    members_found: int | None = None
    invites_found: int | None = None

    @property
    def baseline_text(self) -> str | None:
        """'40 members and 3 invites found' for a BASELINE event, else None."""
        if self.kind is not EventKind.BASELINE:
            return None
        parts = {"member": self.members_found, "invite": self.invites_found}
        found = " and ".join(
            _count(number, noun) for noun, number in parts.items() if number is not None
        )
        unread = "".join(
            f"; {noun}s not read yet"
            for noun, number in parts.items()
            if number is None
        )
        return f"{found} found{unread}"


@dataclass(frozen=True, slots=True)
class Subuser:
    username: str
    sendgrid_id: int | None = None
    email: str | None = None
    disabled: bool = False
    region: str | None = None
    credit_type: str | None = None  # unlimited | recurring | nonrecurring
    credits_total: int | None = None
    credits_used: int | None = None
    credits_remain: int | None = None
    reset_frequency: str | None = None
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    removed_at: dt.datetime | None = None
    source_service_account_id: int | None = None
    source_removed: bool = False
    # When the credit figures above were read (None: never).
    credits_read_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class UsagePeriod:
    """A credits snapshot for one reset period of the account (or a subuser)."""

    last_reset: dt.date
    next_reset: dt.date | None
    total: int | None
    used: int | None
    remain: int | None = None
    overage: int | None = None
    reset_frequency: str | None = None
    credit_type: str | None = None
    subuser: str | None = None
    observed_at: dt.datetime | None = None
    source_service_account_id: int | None = None
    source_removed: bool = False


@dataclass(frozen=True, slots=True)
class UsageView:
    """A `UsagePeriod` with the derived figures a reader wants."""

    period: UsagePeriod
    utilization: float | None
    forecast_used: float | None
    overage_risk: bool
    # The period reset since it was read: its figures are final, with no forecast.
    ended: bool = False


@dataclass(frozen=True, slots=True)
class VolumeMetrics:
    requests: int = 0
    processed: int = 0
    delivered: int = 0
    deferred: int = 0
    bounces: int = 0
    bounce_drops: int = 0
    blocks: int = 0
    invalid_emails: int = 0
    spam_reports: int = 0
    spam_report_drops: int = 0
    unsubscribes: int = 0
    unsubscribe_drops: int = 0
    opens: int = 0
    unique_opens: int = 0
    clicks: int = 0
    unique_clicks: int = 0


@dataclass(frozen=True, slots=True)
class MonthlyVolume:
    month: dt.date  # first day of the month
    metrics: VolumeMetrics
    subuser: str | None = None
    closed: bool = False  # fetched after the month (and its grace days) ended
    synced_at: dt.datetime | None = None
    source_service_account_id: int | None = None
    source_removed: bool = False


@dataclass(frozen=True, slots=True)
class Invoice:
    invoice_id: str
    number: str | None = None
    date: dt.date | None = None
    due_date: dt.date | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    amount: Decimal | None = None
    currency: str | None = None
    status: str | None = None
    balance: Decimal | None = None
    source_service_account_id: int | None = None
    source_removed: bool = False


@dataclass(frozen=True, slots=True)
class CapabilityResult:
    """What one capability did in a sync run."""

    outcome: Outcome
    count: int = 0
    error: str | None = None
    service_account_id: int | None = None


@dataclass(frozen=True, slots=True)
class SyncRun:
    id: int
    integration_id: int
    trigger: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    outcome: Outcome | None = None  # None while running
    capabilities: dict[str, dict[str, object]] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    errors: tuple[str, ...] = ()


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
