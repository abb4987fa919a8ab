"""The API's request and response bodies. No response model has a field for a secret.

Keys are shown as `SG.<key id>…`; text inputs refuse control characters (NUL
would break PostgreSQL) and are bounded in length. Names and labels refuse a
whole API key: pasted there by mistake it would be stored and shown as text.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from smp.api.examples import example
from smp.model import EventKind, KeyKind, KeyStatus, MemberStatus, Outcome, Role
from smp.services.input_rules import MAX_ID, PRINTABLE, not_a_key

NotAKey = AfterValidator(not_a_key)
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE), NotAKey]
Label = Annotated[str, Field(min_length=1, max_length=100, pattern=PRINTABLE), NotAKey]
KeyText = Annotated[SecretStr, Field(min_length=1, max_length=200)]
Interval = Annotated[int, Field(ge=300, le=30 * 86400)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    # Responses always carry total_exact: the schema says so (required).
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    items: list[T]
    total: int
    # False only for a member search with many hits: counting stopped at `total`.
    total_exact: bool = Field(
        True, description="false: there are at least `total` items (count stopped)"
    )
    limit: int
    offset: int


class UnreadableOut(BaseModel):
    data: str = Field(
        description="What no connected key can read: members, invites, subusers, "
        "subuser_credits, credits, volume, subuser_volume or invoices"
    )
    missing_scopes: list[str] = Field(description="The scopes a key needs for it")
    message: str


class DataPage(Page[T], Generic[T]):
    unreadable: list[UnreadableOut] = Field(
        description="What of this collection no connected key can read; when it "
        "is listed, empty `items` mean 'cannot read', not 'none'"
    )


# --- integrations and keys ---------------------------------------------------------


BILLING_CONFIRMED = (
    "true: you have checked that the billing key belongs to the integration's "
    "SendGrid account (SendGrid cannot tell); a billing key is refused without it"
)


class KeyIn(Strict):
    label: Label = "key"
    key: KeyText
    slot: Literal["access", "billing"] = Field(
        "access",
        description="access: reads members or usage and names the account; "
        "billing: a Billing Access key, for invoices",
    )


class IntegrationCreate(Strict):
    name: Name
    region: Literal["global", "eu"] = "global"
    sync_interval_s: Interval | None = None
    keys: Annotated[list[KeyIn], Field(max_length=5)] = []
    billing_account_confirmed: bool = Field(False, description=BILLING_CONFIRMED)


class IntegrationUpdate(Strict):
    name: Name | None = Field(None, description="A new name (unique, without case)")
    sync_interval_s: Interval | None = Field(
        None, description="Seconds between syncs; null returns to the default"
    )


class IntegrationOut(BaseModel):
    model_config = example("IntegrationOut")

    id: int
    name: str
    region: str
    created_at: dt.datetime
    sync_interval_s: int
    last_sync_at: dt.datetime | None
    syncing: bool
    service_accounts: int
    needs_attention: int
    billing_confirmed_by: str | None = Field(
        description="Who confirmed that the billing key is this account's"
    )
    billing_confirmed_at: dt.datetime | None


class ServiceAccountCreate(Strict):
    integration_id: Id
    label: Label = "key"
    key: KeyText
    billing_account_confirmed: bool = Field(False, description=BILLING_CONFIRMED)


class ServiceAccountOut(BaseModel):
    model_config = example("ServiceAccountOut")

    id: int
    integration_id: int
    label: str
    key: str = Field(description="The key's public id only: SG.<key id>…")
    kind: KeyKind
    status: KeyStatus
    scopes: list[str]
    capabilities: list[str]
    missing: dict[str, list[str]]
    last_sync_at: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime | None
    removed_at: dt.datetime | None


class KeyCheck(BaseModel):
    """What the doctor found: per capability, can this key collect it, and the fix."""

    kind: str
    account: str | None
    capabilities: dict[str, bool]
    missing: dict[str, list[str]]
    fixes: dict[str, str]
    warnings: list[str]
    write_scopes: list[str] = Field(
        default_factory=list, description="Scopes that let the key change things"
    )


class CheckedServiceAccount(BaseModel):
    service_account: ServiceAccountOut
    check: KeyCheck


class IntegrationCreated(BaseModel):
    integration: IntegrationOut
    service_accounts: list[CheckedServiceAccount]


# --- collected data -------------------------------------------------------------


class MemberOut(BaseModel):
    model_config = example("MemberOut")

    id: int | None
    email: str | None
    username: str | None
    first_name: str | None
    last_name: str | None
    role: Role
    status: MemberStatus
    is_sso: bool | None
    invite_expires_at: dt.datetime | None
    invite_expired: bool | None = Field(
        description="Pending invites: past `invite_expires_at`, so it can no "
        "longer be accepted; null for members"
    )
    first_seen: dt.datetime | None = Field(
        description="When SMP first listed it. SendGrid gives no join date and "
        "no last login: this is not activity"
    )
    removed_at: dt.datetime | None = Field(
        description="When SMP saw it gone from SendGrid's listing"
    )
    source: str | None


class MemberEventOut(BaseModel):
    model_config = example("MemberEventOut")

    id: int | None
    kind: EventKind
    member_key: str | None = Field(description="null only for the `baseline` event")
    email: str | None
    username: str | None
    old_role: Role | None
    new_role: Role | None
    occurred_at: dt.datetime
    members_found: int | None = Field(
        description="`baseline` only: members in SMP's first listing (null: "
        "not read yet). The first listing makes no per-member events"
    )
    invites_found: int | None = Field(
        description="`baseline` only: invites in SMP's first invites listing "
        "(null: not read yet)"
    )
    source: str | None


class MemberCountsOut(BaseModel):
    model_config = example("MemberCountsOut")

    active: int
    roles: dict[Role, int] = Field(description="Active members per role")
    pending_invites: int = Field(description="Invites that can still be accepted")
    expired_invites: int = Field(
        description="Invites SendGrid still lists as pending, past their expiry"
    )
    removed: int


class SubuserOut(BaseModel):
    model_config = example("SubuserOut")

    username: str
    email: str | None
    disabled: bool
    region: str | None
    credit_type: str | None
    credits_total: int | None
    credits_used: int | None
    credits_remain: int | None
    reset_frequency: str | None
    credits_read_at: dt.datetime | None
    credits_period_ended: bool = Field(
        description="The credits were read in a period that has reset since: "
        "they are that period's final figures, not the current ones"
    )
    source: str | None


class InvoiceOut(BaseModel):
    model_config = example("InvoiceOut")

    invoice_id: str
    number: str | None
    date: dt.date | None
    due_date: dt.date | None
    period_start: dt.date | None
    period_end: dt.date | None
    amount: str | None = Field(description="Exact decimal, as text")
    currency: str | None
    status: str | None
    balance: str | None
    source: str | None


class UsageOut(BaseModel):
    model_config = example("UsageOut")

    subuser: str | None
    last_reset: dt.date | None
    next_reset: dt.date | None
    total: int | None
    used: int | None
    remain: int | None
    overage: int | None
    utilization: float | None
    forecast_used_at_reset: float | None
    overage_risk: bool
    observed_at: dt.datetime | None
    period_ended: bool = Field(
        description="The period reset since it was read: the figures are its "
        "final ones and there is no forecast"
    )
    unreadable: list[UnreadableOut]


class MonthlyVolumeOut(BaseModel):
    model_config = example("MonthlyVolumeOut")

    month: dt.date
    subuser: str | None = Field(
        description="null: the parent account's own sends, which SendGrid's "
        "parent statistics count without its subusers'"
    )
    closed: bool
    metrics: dict[str, int]


class SyncRunOut(BaseModel):
    model_config = example("SyncRunOut")

    id: int
    integration_id: int
    trigger: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: Outcome | None
    capabilities: dict[str, dict[str, object]]
    requests: int
    retries: int
    rate_limit_waits: int
    errors: list[str]


class SyncStart(Strict):
    integration_id: Id


class SyncStarted(BaseModel):
    integration_id: int
    started: bool = Field(description="False when a sync of it was already running")


# --- users ------------------------------------------------------------------------


RoleName = Literal["admin", "viewer"]


class UserOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Ada Lovelace",
                    "role": "viewer",
                    "created_at": "2026-03-01T09:30:00Z",
                    "time_zone": "Europe/Paris",
                }
            ]
        }
    )

    name: str = Field(
        description="As typed; /users/{name} finds it however cased or spaced"
    )
    role: RoleName
    created_at: dt.datetime
    time_zone: str = Field("UTC", description="IANA name the web UI shows times in")


class RoleChange(Strict):
    role: RoleName


class SettingsChange(Strict):
    time_zone: Annotated[
        str,
        Field(
            min_length=1,
            max_length=64,
            pattern=PRINTABLE,
            description="An IANA time zone name",
            examples=["America/New_York"],
        ),
    ]


class PasswordReset(BaseModel):
    name: str
    password: str = Field(
        description="The new, generated password: shown once, never stored as given",
        repr=False,
        examples=["Vq3-hN8kZr1sT0bYwXe4"],
    )


class TokenCreate(Strict):
    label: Annotated[Label, Field(examples=["reporting script"])] = "api"


class TokenInfo(BaseModel):
    """A token's record: the token itself is never shown again."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "label": "reporting script",
                    "created_at": "2026-03-01T09:30:00Z",
                    "last_used_at": None,
                }
            ]
        }
    )

    id: int
    label: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


class UserCreate(Strict):
    # Letters of any script, spaces and more: the storage rules decide (422).
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE)]
    password: Annotated[SecretStr, Field(min_length=8, max_length=1024)]
    role: Literal["admin", "viewer"] = "viewer"


class TokenOut(BaseModel):
    token: str = Field(
        description="Shown once; only its hash is stored",
        repr=False,
        examples=["smp_…"],
    )
    label: str
    id: int | None = Field(None, description="Revoke the token by this id")
