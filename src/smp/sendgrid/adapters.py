"""Pydantic adapters for every response the client reads, built once per process.

`OnePass` is the fast path for the big lists: the usual envelope validated
straight from the JSON bytes.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, TypeAdapter, ValidationError

from smp.sendgrid import wire, wire_access

T = TypeVar("T")


class ResultPage(BaseModel, Generic[T]):
    result: list[T]


class StatsPage(BaseModel, Generic[T]):
    stats: list[T]


class OnePass(Generic[T]):
    """Validates a page straight from its JSON bytes, in one pass in pydantic-core.

    Half the CPU of `json.loads` plus validation, which matters at 500 items a
    page. Returns None when the body has another shape (another envelope, an
    error body, bad JSON); the general path then decides, with its messages.
    """

    def __init__(self, adapter: TypeAdapter[Any], key: str | None = None) -> None:
        self._adapter = adapter
        self._key = key

    def __call__(self, body: bytes) -> list[T] | None:
        try:
            page = self._adapter.validate_json(body)
        except ValidationError:
            return None
        return cast(list[T], page if self._key is None else getattr(page, self._key))


SCOPES = TypeAdapter(list[str])
API_KEY = TypeAdapter(wire.ApiKeyInfo)
API_KEYS = TypeAdapter(list[wire.ApiKeyInfo])
TEAMMATES = TypeAdapter(list[wire.Teammate])
TEAMMATE_DETAIL = TypeAdapter(wire.TeammateDetail)
INVITES = TypeAdapter(list[wire.PendingInvite])
SUBUSER_ACCESS = TypeAdapter(list[wire.SubuserAccess])
ACCOUNT = TypeAdapter(wire.UserAccount)
PROFILE = TypeAdapter(wire.UserProfile)
EMAIL = TypeAdapter(wire.UserEmail)
USERNAME = TypeAdapter(wire.UserUsername)
CREDITS = TypeAdapter(wire.UserCredits)
STATS = TypeAdapter(list[wire.StatsDay])
STAT_ENTRIES = TypeAdapter(list[wire.StatEntry])
SUBUSERS = TypeAdapter(list[wire.Subuser])
SUBUSER_CREDITS = TypeAdapter(wire.SubuserCredits)
INVOICES = TypeAdapter(list[wire.Invoice])
# SSO, IP access and validation jobs (smp.sendgrid.wire_access).
VALIDATION_JOBS = TypeAdapter(list[wire_access.ValidationJob])
VALIDATION_JOB = TypeAdapter(wire_access.ValidationJobDetail)
SSO_INTEGRATIONS = TypeAdapter(list[wire_access.SsoIntegration])
SSO_CERTIFICATES = TypeAdapter(list[wire_access.SsoCertificate])
ALLOWED_IPS = TypeAdapter(list[wire_access.AllowedIp])
ACCESS_ATTEMPTS = TypeAdapter(list[wire_access.AccessAttempt])

# Fast paths for the big lists: the usual envelope, validated from bytes.
TEAMMATES_ONE_PASS: OnePass[wire.Teammate] = OnePass(
    TypeAdapter(ResultPage[wire.Teammate]), "result"
)
STATS_ONE_PASS: OnePass[wire.StatsDay] = OnePass(STATS)
STAT_ENTRIES_ONE_PASS: OnePass[wire.StatEntry] = OnePass(
    TypeAdapter(StatsPage[wire.StatEntry]), "stats"
)
SUBUSERS_ONE_PASS: OnePass[wire.Subuser] = OnePass(SUBUSERS)
INVOICES_ONE_PASS: OnePass[wire.Invoice] = OnePass(
    TypeAdapter(ResultPage[wire.Invoice]), "result"
)
