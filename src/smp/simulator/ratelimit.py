"""Fixed-window rate limits per key and endpoint, with SendGrid's headers."""

from __future__ import annotations

import math
from collections.abc import Callable


class RateLimiter:
    """Counts hits per bucket; a window opens with a bucket's first hit."""

    def __init__(
        self, limit: int | None, window_s: float, clock: Callable[[], float]
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def hit(self, key: str, endpoint: str) -> tuple[bool, list[tuple[bytes, bytes]]]:
        """Count one request; return (allowed, X-RateLimit-* headers)."""
        if self.limit is None:
            return True, []
        now = self.clock()
        start, used = self._windows.get((key, endpoint), (now, 0))
        if now >= start + self.window_s:
            start, used = now, 0
        allowed = used < self.limit
        if allowed:
            used += 1
        self._windows[(key, endpoint)] = (start, used)
        return allowed, self.headers(self.limit - used, start)

    def headers(self, remaining: int, start: float) -> list[tuple[bytes, bytes]]:
        reset = math.ceil(start + self.window_s)
        return [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(max(0, remaining)).encode()),
            (b"x-ratelimit-reset", str(reset).encode()),
        ]

    def exhausted_headers(self, key: str, endpoint: str) -> list[tuple[bytes, bytes]]:
        """Headers for an injected 429: Remaining 0 in the current window."""
        now = self.clock()
        start, _ = self._windows.get((key, endpoint), (now, 0))
        if self.limit is None:
            return [
                (b"x-ratelimit-limit", b"0"),
                (b"x-ratelimit-remaining", b"0"),
                (b"x-ratelimit-reset", str(math.ceil(now + 1)).encode()),
            ]
        return self.headers(0, start)

    def reset(self) -> None:
        self._windows.clear()
