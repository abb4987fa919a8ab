"""Wire models: SendGrid's JSON as it is, tolerant where reality differs from the spec.

Extra fields are kept (`extra="allow"`) on single objects; the items of the big
lists (teammates, subusers) drop them, since nothing reads them and keeping
them doubles the cost of validating a page. Nulls are accepted where SendGrid
has been seen to send them, and the envelope helpers accept `result`/`results`,
wrapped or flat objects, and bare arrays. The sync layer maps these to domain
models; nothing here knows about storage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
)
from pydantic import ValidationError as PydanticValidationError

T = TypeVar("T")


class ShapeError(ValueError):
    """The JSON does not have the shape the endpoint should have."""


def _to_date(value: Any) -> dt.date | None:
    """ISO date/datetime strings and epoch seconds (number or digits) become a date."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError("a boolean is not a date")
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC).date()
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return dt.datetime.fromtimestamp(int(text), tz=dt.UTC).date()
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            raise ValueError(f"not a date: {text[:40]!r}") from None
    raise ValueError(f"not a date: {type(value).__name__}")


def _to_decimal(value: Any) -> Decimal | None:
    """Numbers and numeric strings become an exact Decimal (floats via their repr)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float | str):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"not an amount: {str(value)[:40]!r}") from None
        if not amount.is_finite():
            raise ValueError("amount is not finite")
        return amount
    raise ValueError(f"not an amount: {type(value).__name__}")


FlexDate = Annotated[dt.date | None, BeforeValidator(_to_date)]
FlexDecimal = Annotated[Decimal | None, BeforeValidator(_to_decimal)]
# Lists that SendGrid sometimes sends as null.
StrList = Annotated[list[str], BeforeValidator(lambda v: [] if v is None else v)]
# Ids that arrive as numbers or strings.
OptionalText = Annotated[
    str | None, BeforeValidator(lambda v: None if v is None else str(v))
]


class Wire(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class ListItem(BaseModel):
    """An item of a list that can run to thousands: unknown fields are dropped.

    A teammate carries ~10 profile fields (phone, address, ...) SMP never reads;
    building them costs as much as the fields it does read, on every page.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)


class Teammate(ListItem):
    username: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    user_type: str | None = None  # admin | owner | teammate
    is_admin: bool = False
    is_sso: bool | None = None


class TeammateDetail(Teammate):
    model_config = ConfigDict(extra="allow", frozen=True)

    scopes: StrList = Field(default_factory=list)


class PendingInvite(Wire):
    email: str
    scopes: StrList = Field(default_factory=list)
    is_admin: bool = False
    # The schema says `token`, the spec example `pending_id`: accept both.
    token: str | None = None
    pending_id: str | None = None
    expiration_date: int | None = None

    @property
    def invite_id(self) -> str | None:
        return self.token or self.pending_id


class SubuserAccess(Wire):
    id: int
    username: str
    email: str | None = None
    disabled: bool = False
    permission_type: str | None = None  # admin | restricted
    scopes: StrList = Field(default_factory=list)


class UserAccount(Wire):
    type: str | None = None  # free | paid
    reputation: float | None = None


class UserProfile(Wire):
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    country: str | None = None


class UserEmail(Wire):
    email: str


class UserUsername(Wire):
    username: str
    user_id: int | None = None


class UserCredits(Wire):
    remain: int | None = None
    total: int | None = None
    overage: int | None = None
    used: int | None = None
    last_reset: FlexDate = None
    next_reset: FlexDate = None
    reset_frequency: str | None = None


class Subuser(ListItem):
    id: int
    username: str
    email: str | None = None
    disabled: bool = False
    region: str | None = None


class SubuserCredits(Wire):
    type: str | None = None  # unlimited | recurring | nonrecurring
    reset_frequency: str | None = None
    remain: int | None = None
    total: int | None = None
    used: int | None = None


def _metrics_without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if v is not None}
    return value


class Metrics(Wire):
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


class StatEntry(Wire):
    type: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    metrics: Annotated[Metrics, BeforeValidator(_metrics_without_nulls)] = Field(
        default_factory=Metrics
    )


class StatsDay(Wire):
    date: dt.date
    stats: list[StatEntry] = Field(default_factory=list)


class ApiKeyInfo(Wire):
    api_key_id: str
    name: str | None = None
    scopes: StrList = Field(default_factory=list)


class Invoice(Wire):
    """`/v3/billing/invoices` is undocumented: accept every shape seen in the wild."""

    id: OptionalText = None
    invoice_number: OptionalText = None
    date: FlexDate = None
    due_date: FlexDate = None
    period_start: FlexDate = None
    period_end: FlexDate = None
    status: str | None = None
    amount: FlexDecimal = Field(
        default=None, validation_alias=AliasChoices("amount", "total_amount", "total")
    )
    currency: str | None = None
    balance: FlexDecimal = None
    unpaid_balance: FlexDecimal = None


# --- envelopes -------------------------------------------------------------------

LIST_KEYS = ("result", "results")
INVOICE_LIST_KEYS = ("result", "results", "invoices", "data")


def items_of(
    payload: Any, keys: Sequence[str] = LIST_KEYS, *, bare: bool = False
) -> Any:
    """The list inside an envelope (one of `keys`), or the payload if `bare` allows."""
    if isinstance(payload, list):
        if bare:
            return payload
        raise ShapeError("expected an object, got a list")
    if isinstance(payload, dict):
        for key in keys:
            value = payload.get(key)
            if isinstance(value, list):
                return value
            if value is None and key in payload:
                return []
        raise ShapeError(f"expected a list under {' or '.join(map(repr, keys))}")
    raise ShapeError(f"expected a list or an object, got {type(payload).__name__}")


def single_object(payload: Any) -> Any:
    """A flat object, or the first element of a `{"result": [...]}` wrapper."""
    if isinstance(payload, dict):
        wrapped = payload.get("result")
        if isinstance(wrapped, list):
            if not wrapped:
                raise ShapeError("empty 'result' list")
            return wrapped[0]
        if isinstance(wrapped, dict):
            return wrapped
        return payload
    raise ShapeError(f"expected an object, got {type(payload).__name__}")


def validate(adapter: TypeAdapter[T], data: Any) -> T:
    """Validate, turning pydantic's report into one short `ShapeError` line."""
    try:
        return adapter.validate_python(data)
    except PydanticValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise ShapeError(
            f"{exc.error_count()} invalid field(s), first at {where}: {first['msg']}"
        ) from None
