"""The simulated world: accounts, people, stats, invoices and API keys.

Bodies that SendGrid returns verbatim (credits, teammates, invites, invoices) are
kept as TypedDicts, so tests read ground truth as the plain dicts the API serves.
The same models validate world files, so errors name the offending field.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path
from typing import Literal, NotRequired, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from typing_extensions import TypedDict

from smp.simulator.scopes import MAX_API_KEYS

KeyKind = Literal["full", "restricted", "billing", "validation", "revoked"]
InvoiceFormat = Literal[
    "spec",
    "invoices_key",
    "data_key",
    "bare",
    "total_amount",
    "epoch_dates",
    "string_amounts",
]
INVOICE_FORMATS: tuple[str, ...] = get_args(InvoiceFormat)
KEY_PATTERN = re.compile(r"^SG\.([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$")
METRIC_NAMES: tuple[str, ...] = (
    "blocks",
    "bounce_drops",
    "bounces",
    "clicks",
    "deferred",
    "delivered",
    "invalid_emails",
    "opens",
    "processed",
    "requests",
    "spam_report_drops",
    "spam_reports",
    "unique_clicks",
    "unique_opens",
    "unsubscribe_drops",
    "unsubscribes",
)


class WorldError(ValueError):
    """A world file or world object that breaks the schema; names the field."""


class Metrics(TypedDict):
    blocks: int
    bounce_drops: int
    bounces: int
    clicks: int
    deferred: int
    delivered: int
    invalid_emails: int
    opens: int
    processed: int
    requests: int
    spam_report_drops: int
    spam_reports: int
    unique_clicks: int
    unique_opens: int
    unsubscribe_drops: int
    unsubscribes: int


class DailyStat(TypedDict):
    date: str
    metrics: Metrics


class Credits(TypedDict):
    remain: int
    total: int
    overage: int
    used: int
    last_reset: str
    next_reset: str
    reset_frequency: str


class SubuserCredits(TypedDict):
    type: Literal["unlimited", "recurring", "nonrecurring"]
    # The spec's nullable fields: an unlimited subuser has no figures.
    reset_frequency: Literal["monthly", "weekly", "daily"] | None
    remain: int | None
    total: int | None
    used: int | None


class Profile(TypedDict):
    first_name: str
    last_name: str
    company: str
    address: str
    address2: str
    city: str
    state: str
    zip: str
    country: str
    phone: str
    website: str


class Teammate(TypedDict):
    username: str
    email: str
    first_name: str
    last_name: str
    user_type: Literal["owner", "admin", "teammate"]
    is_admin: bool
    is_sso: bool
    phone: str
    website: str
    company: str
    address: str
    address2: str
    city: str
    state: str
    zip: str
    country: str
    scopes: list[str]


class PendingInvite(TypedDict):
    email: str
    scopes: list[str]
    is_admin: bool
    token: str
    expiration_date: int


class SubuserAccess(TypedDict):
    subuser_id: int
    permission_type: Literal["admin", "restricted"]
    scopes: list[str]


class Invoice(TypedDict):
    id: str
    invoice_number: str
    date: str
    due_date: str
    period_start: str
    period_end: str
    status: str
    amount: float
    currency: str
    balance: float
    unpaid_balance: float


class ValidationJobError(TypedDict):
    message: str


class ValidationJob(TypedDict):
    id: str
    status: Literal["Initiated", "Queued", "Ready", "Processing", "Done", "Error"]
    started_at: int
    finished_at: int
    # Only in the job's own details (`/v3/validations/email/jobs/{job_id}`);
    # 1,500 addresses a segment, 0 until the job is processing.
    segments: NotRequired[int]
    segments_processed: NotRequired[int]
    is_download_available: NotRequired[bool]
    errors: NotRequired[list[ValidationJobError]]


class SsoCertificate(TypedDict):
    id: int
    public_certificate: str
    not_before: int
    not_after: int


class SsoIntegration(TypedDict):
    """As `/v3/sso/integrations` serves it, plus its certificates (served apart)."""

    id: str
    name: str
    enabled: bool
    signin_url: str
    signout_url: str
    entity_id: str
    completed_integration: bool
    last_updated: int
    certificates: list[SsoCertificate]


class AllowedIp(TypedDict):
    id: int
    ip: str
    created_at: int
    updated_at: int


class AccessActivity(TypedDict):
    """One IP's recent access attempts (SendGrid keeps them per IP, not per user)."""

    allowed: bool
    auth_method: str
    first_at: int
    ip: str
    last_at: int
    location: str


def _check_date(value: str, where: str) -> None:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a YYYY-MM-DD date") from None


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=False)


class Subuser(_Strict):
    id: int
    username: str
    email: str
    disabled: bool
    region: Literal["global", "eu"]
    first_name: str
    last_name: str
    credits: SubuserCredits
    daily_stats: list[DailyStat]


class Account(_Strict):
    username: str
    user_id: int
    type: Literal["free", "paid"]
    email: str
    reputation: float
    profile: Profile
    credits: Credits
    teammates: list[Teammate]
    pending: list[PendingInvite]
    subusers: list[Subuser]
    # teammate username -> the subusers that teammate may reach.
    subuser_access: dict[str, list[SubuserAccess]]
    daily_stats: list[DailyStat]
    invoices: list[Invoice]
    validation_jobs: list[ValidationJob]
    # SSO and IP access management (issue M); absent in older world files.
    sso_integrations: list[SsoIntegration] = []
    ip_allowlist: list[AllowedIp] = []
    access_activity: list[AccessActivity] = []

    @model_validator(mode="after")
    def _consistent(self) -> Account:
        owners = [t for t in self.teammates if t["user_type"] == "owner"]
        if len(owners) != 1:
            raise ValueError(f"teammates: need exactly one owner, found {len(owners)}")
        names = [t["username"] for t in self.teammates]
        if len(set(names)) != len(names):
            raise ValueError("teammates: usernames must be unique")
        for field, days in [("daily_stats", self.daily_stats)] + [
            (f"subusers.{s.username}.daily_stats", s.daily_stats) for s in self.subusers
        ]:
            for index, day in enumerate(days):
                _check_date(day["date"], f"{field}[{index}].date")
        for field in ("last_reset", "next_reset"):
            _check_date(self.credits[field], f"credits.{field}")  # type: ignore[literal-required]
        return self


class SimKey(_Strict):
    account: str
    kind: KeyKind
    key: str
    key_id: str
    name: str
    scopes: list[str]

    @model_validator(mode="after")
    def _key_shape(self) -> SimKey:
        match = KEY_PATTERN.match(self.key)
        if match is None:
            raise ValueError("key: must look like SG.<22 chars>.<43 chars>")
        if match.group(1) != self.key_id:
            raise ValueError("key_id: must be the middle part of key")
        return self

    def __repr__(self) -> str:
        # Never the secret: a key is shown as SG.<key id>….
        return f"SimKey({self.account!r}, {self.kind!r}, SG.{self.key_id}…)"

    __str__ = __repr__


class World(_Strict):
    format_version: Literal[1] = 1
    seed: int | None = None
    # The last day the world has lived: its stats run up to it, and a
    # simulator serving it on a later date grows it (smp.simulator.calendar).
    today: str
    invoice_format: InvoiceFormat = "spec"
    accounts: list[Account]
    keys: list[SimKey]

    @model_validator(mode="after")
    def _consistent(self) -> World:
        _check_date(self.today, "today")
        usernames = [a.username for a in self.accounts]
        if len(set(usernames)) != len(usernames):
            raise ValueError("accounts: usernames must be unique")
        key_ids = [k.key_id for k in self.keys]
        if len(set(key_ids)) != len(key_ids):
            raise ValueError("keys: key_id values must be unique")
        for index, key in enumerate(self.keys):
            if key.account not in usernames:
                raise ValueError(f"keys[{index}].account: no account {key.account!r}")
        per_account = Counter(key.account for key in self.keys)
        for account, count in per_account.items():
            if count > MAX_API_KEYS:
                raise ValueError(
                    f"keys: account {account!r} has {count} keys; SendGrid keeps "
                    f"at most {MAX_API_KEYS}"
                )
        return self

    def account(self, username: str) -> Account:
        for account in self.accounts:
            if account.username == username:
                return account
        raise KeyError(username)

    def today_date(self) -> dt.date:
        return dt.date.fromisoformat(self.today)

    def to_json(self) -> str:
        return self.model_dump_json(indent=1)


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item["loc"]) or "world"
        parts.append(f"{where}: {item['msg']}")
    return "invalid world: " + "; ".join(parts)


def parse_world(data: object) -> World:
    """Validate already-decoded JSON data as a world."""
    try:
        return World.model_validate(data)
    except ValidationError as error:
        raise WorldError(_describe(error)) from None


def load_world(source: str | Path) -> World:
    """Load a world from a file path or from JSON text; errors name the field."""
    text = str(source)
    if isinstance(source, Path) or not text.lstrip().startswith("{"):
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as error:
            raise WorldError(f"cannot read world file {source}: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise WorldError(f"world file is not JSON: {error}") from None
    return parse_world(data)
