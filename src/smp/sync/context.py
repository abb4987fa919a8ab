"""What a sync or a key check needs from its surroundings, in one place.

Defaults are the real thing (SendGrid over HTTPS, the wall clock); tests and
the demo pass a simulator transport instead.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from smp.model import DEFAULT_HISTORY_MONTHS
from smp.model.api_keys import DEFAULT_SCOPE_BUDGET_SHARE
from smp.sendgrid import (
    ApiKey,
    Clock,
    ConcurrencyLimiter,
    RetryPolicy,
    SendGridClient,
)
from smp.storage import ConfigError
from smp.sync.freshness import DEFAULT_REFRESH_AFTER
from smp.sync.off_loop_writers import ThreadWriter, Writer

GLOBAL_IN_FLIGHT_ENV = "SMP_GLOBAL_IN_FLIGHT"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def default_limiter() -> ConcurrencyLimiter:
    """The process's limiter: $SMP_GLOBAL_IN_FLIGHT requests at once, 8 per key."""
    configured = os.environ.get(GLOBAL_IN_FLIGHT_ENV, "").strip()
    if not configured:
        return ConcurrencyLimiter()
    try:
        limit = int(configured)
    except ValueError:
        limit = 0
    if limit < 1:
        raise ConfigError(
            f"{GLOBAL_IN_FLIGHT_ENV} must be a whole number of at least 1, "
            f"not {configured!r}"
        )
    return ConcurrencyLimiter(global_limit=limit)


@dataclass(slots=True)
class SyncContext:
    # Called once per client: a client closes its transport when it closes.
    transport_factory: Callable[[], httpx.AsyncBaseTransport] | None = None
    clock: Clock | None = None
    policy: RetryPolicy | None = None
    # One limiter for the whole process keeps SMP polite to SendGrid.
    limiter: ConcurrencyLimiter = field(default_factory=default_limiter)
    now: Callable[[], dt.datetime] = _utc_now
    history_months: int = DEFAULT_HISTORY_MONTHS
    lock_timeout_s: float = 0.0
    # How long an account identity or a subuser's credits may go unread
    # when nothing says they changed (smp.sync.freshness).
    refresh_after: dt.timedelta = DEFAULT_REFRESH_AFTER
    # The share of SendGrid's rate limit a sync may spend on teammates'
    # scopes, one request each (docs/adr/0021-teammate-scope-budget.md).
    teammate_scope_share: float = DEFAULT_SCOPE_BUDGET_SHARE
    # Where writes run (smp.sync.off_loop_writers); its owner closes it.
    writer: Writer = field(default_factory=ThreadWriter)

    def client(
        self, key: ApiKey, *, region: str, base_url: str | None
    ) -> SendGridClient:
        return SendGridClient(
            key,
            region=region,
            base_url=base_url,
            transport=self.transport_factory() if self.transport_factory else None,
            clock=self.clock,
            policy=self.policy,
            limiter=self.limiter,
        )
