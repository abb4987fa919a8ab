"""Rate limits, retries and concurrency: policies a fake clock can drive in tests.

See docs/adr/0005-client-retries-and-rate-limits.md for the reasoning.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx


class Clock(Protocol):
    """Time as the client sees it. Tests pass a fake whose `sleep` only advances."""

    def wall(self) -> float:
        """Unix epoch seconds (to compare with `X-RateLimit-Reset`)."""
        ...

    def monotonic(self) -> float:
        """Seconds for deadlines; never jumps."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def wall(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """`X-RateLimit-*` headers; any of them may be missing or garbage."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # epoch seconds
    server_now: float | None = None  # from the `Date` header, to cancel clock skew

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> RateLimitInfo:
        # httpx.Headers is case-insensitive: SendGrid really sends `X-Ratelimit-*`.
        return cls(
            limit=_parse_int(headers.get("x-ratelimit-limit")),
            remaining=_parse_int(headers.get("x-ratelimit-remaining")),
            reset_at=_parse_float(headers.get("x-ratelimit-reset")),
            server_now=_parse_http_date(headers.get("date")),
        )

    def seconds_until_reset(self, local_now: float) -> float | None:
        """Seconds to wait, or None when the headers do not say (or say nonsense).

        The reset is an absolute time on SendGrid's clock. When the answer carries
        a `Date`, measure against that, so a skewed local clock does not matter.
        """
        if self.reset_at is None:
            return None
        reference = self.server_now if self.server_now is not None else local_now
        wait = self.reset_at - reference
        if wait <= 0:
            return None  # in the past: the window has rolled, or a clock is off
        return wait


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long and how often one call may keep trying."""

    max_attempts: int = 6
    connect_attempts: int = 2  # a refused connection is reported in seconds
    base_backoff_s: float = 0.5
    max_backoff_s: float = 20.0
    max_rate_limit_wait_s: float = 90.0
    deadline_s: float = 300.0  # total per call, sleeps included
    request_timeout_s: float = 30.0
    jitter: float = 0.1  # fraction added on top of every wait
    rng: Callable[[], float] = field(default=random.random, repr=False)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff for attempt 1, 2, ... with jitter, capped."""
        base = min(self.max_backoff_s, self.base_backoff_s * 2.0 ** (attempt - 1))
        return base * (1.0 + self.jitter * self.rng())

    def rate_limit_wait(
        self, info: RateLimitInfo, local_now: float, attempt: int
    ) -> float:
        """Wait until `Reset` (plus jitter, capped); blind backoff only if unknown."""
        until_reset = info.seconds_until_reset(local_now)
        if until_reset is None:
            return self.backoff(attempt)
        # Jitter spreads clients that share a key so they don't all wake at once.
        wait = until_reset + min(1.0, until_reset * self.jitter) * self.rng()
        return min(wait, self.max_rate_limit_wait_s)


NO_RETRIES = RetryPolicy(max_attempts=1)


class Pacer:
    """Holds requests back when SendGrid said `Remaining: 0` for a path.

    SendGrid's limits are per endpoint, so pacing is per path: an exhausted
    stats window does not stall the teammates calls of the same key.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._blocked_until: dict[str, float] = {}

    def observe(self, path: str, info: RateLimitInfo, policy: RetryPolicy) -> None:
        if info.remaining is None or info.remaining > 0:
            self._blocked_until.pop(path, None)
            return
        wait = info.seconds_until_reset(self._clock.wall())
        if wait is not None:
            wait = min(wait, policy.max_rate_limit_wait_s)
            self._blocked_until[path] = self._clock.monotonic() + wait

    def delay_for(self, path: str) -> float:
        until = self._blocked_until.get(path)
        if until is None:
            return 0.0
        delay = until - self._clock.monotonic()
        if delay <= 0:
            del self._blocked_until[path]
            return 0.0
        return delay


class ConcurrencyLimiter:
    """In-flight request caps: one for everything sharing this limiter, one per key.

    Create one per process (the sync engine) and pass it to every client; a
    client that gets none makes its own.
    """

    def __init__(self, global_limit: int = 16, per_key_limit: int = 8) -> None:
        if global_limit < 1 or per_key_limit < 1:
            raise ValueError("concurrency limits must be at least 1")
        self.global_limit = global_limit
        self.per_key_limit = per_key_limit
        self._global = asyncio.Semaphore(global_limit)
        self._per_key: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(self, key_id: str) -> AsyncIterator[None]:
        per_key = self._per_key.get(key_id)
        if per_key is None:
            per_key = self._per_key[key_id] = asyncio.Semaphore(self.per_key_limit)
        async with per_key, self._global:
            yield


def _parse_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _parse_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return (
        number
        if number == number and number not in (float("inf"), -float("inf"))
        else None
    )


def _parse_http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
