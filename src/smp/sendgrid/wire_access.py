"""Wire models of SSO, IP access and e-mail validation jobs (issue M).

Their timestamps are typed `number` in the specs, yet the validation spec
describes them as ISO 8601 (fact sheet §9): both are accepted. A 0 (a job
not finished yet) means "no time", not 1 January 1970.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from smp.sendgrid.wire import OptionalText, Wire


def _to_moment(value: Any) -> dt.datetime | None:
    """Epoch seconds (number or digits) or an ISO 8601 text, as an aware UTC time."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            # Past year 9999 (or NaN): a ValueError, so the answer's shape is
            # refused in one line naming the field, never an OverflowError.
            raise ValueError(f"not a time: {value!r:.40} is out of range") from None
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return None if int(text) == 0 else _to_moment(int(text))
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"not a time: {text[:40]!r}") from None
        # A time without an offset is read as UTC, as SendGrid's epochs are.
        if moment.tzinfo is None:
            return moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)
    raise ValueError(f"not a time: {type(value).__name__}")


Moment = Annotated[dt.datetime | None, BeforeValidator(_to_moment)]


def _identifier(value: Any) -> str:
    """An id as text; a number is accepted, anything else refused."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("an id must be a text or a number")
    return str(value)


Identifier = Annotated[str, BeforeValidator(_identifier)]


def _count(value: Any) -> int | None:
    """A whole number given as a number or digits; anything else a ValueError
    (a TypeError or OverflowError would escape pydantic's one-line refusal)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a count: {type(value).__name__}")
    try:
        return int(float(value))
    except (OverflowError, ValueError):
        raise ValueError(f"not a count: {str(value)[:40]!r}") from None


Count = Annotated[int | None, BeforeValidator(_count)]


class SsoIntegration(Wire):
    id: str
    name: str | None = None
    enabled: bool
    # Only with `?si=true`.
    completed_integration: bool | None = None
    last_updated: Moment = None


class SsoCertificate(Wire):
    # Required: a certificate SMP cannot name cannot be followed to its expiry,
    # and dropping it would lose the one SMP stored.
    id: Identifier
    not_before: Moment = None
    not_after: Moment = None


class AllowedIp(Wire):
    id: OptionalText = None
    ip: str
    created_at: Moment = None
    updated_at: Moment = None


class AccessAttempt(Wire):
    """Recent access from one IP; SendGrid keeps no user with it."""

    ip: str
    allowed: bool
    auth_method: str | None = None
    location: str | None = None
    first_at: Moment = None
    last_at: Moment = None


class ValidationJob(Wire):
    id: str
    status: str | None = None
    started_at: Moment = None
    finished_at: Moment = None


class ValidationJobDetail(ValidationJob):
    """A job's details: `segments` of up to 1,500 addresses each."""

    segments: Count = None
    segments_processed: Count = None
    errors: list[Any] = Field(default_factory=list)
