"""Password hashes: scrypt at OWASP's parameters, upgraded when a user signs in.

A hash is `scrypt$<N>$<r>$<p>$<salt>$<derived>`, so older hashes keep working
after the cost goes up, and `needs_rehash` tells a sign-in to replace them.
At N = 2^17 and r = 8 each hash takes 128 MiB and most of a second of CPU, so at
most `MAX_CONCURRENT_HASHES` run at once: a burst of sign-ins waits instead of
taking the server's memory.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass

from smp.settings import test_only_fast_password_hash


@dataclass(frozen=True, slots=True)
class ScryptCost:
    n: int
    r: int
    p: int

    def covers(self, other: ScryptCost) -> bool:
        return self.n >= other.n and self.r >= other.r and self.p >= other.p

    @property
    def max_memory(self) -> int:
        # What OpenSSL's scrypt allocates (128·r·(N + 2) + 128·r·p) and a little room.
        return 128 * self.r * (self.n + 2 + self.p) + 1024 * 1024


# OWASP Password Storage Cheat Sheet (2023-): N = 2^17, r = 8, p = 1.
OWASP_SCRYPT = ScryptCost(2**17, 8, 1)
# Only with SMP_TEST_ONLY_FAST_PASSWORD_HASH=1.
TEST_ONLY_SCRYPT = ScryptCost(2**10, 8, 1)
# No stored hash may make a check allocate more than this (1 GiB at r = 8).
_LARGEST = ScryptCost(2**20, 8, 4)
MAX_CONCURRENT_HASHES = min(4, os.cpu_count() or 1)  # 512 MiB at most
_hashing = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)


def current_cost() -> ScryptCost:
    return TEST_ONLY_SCRYPT if test_only_fast_password_hash() else OWASP_SCRYPT


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _derive(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    with _hashing:
        return hashlib.scrypt(
            password.encode(),
            salt=salt,
            n=cost.n,
            r=cost.r,
            p=cost.p,
            maxmem=cost.max_memory,
        )


def hash_password(password: str, cost: ScryptCost | None = None) -> str:
    chosen = cost or current_cost()
    salt = secrets.token_bytes(16)
    derived = _b64(_derive(password, salt, chosen))
    return f"scrypt${chosen.n}${chosen.r}${chosen.p}${_b64(salt)}${derived}"


def _parse(stored: str) -> tuple[ScryptCost, bytes, bytes] | None:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        cost = ScryptCost(int(n), int(r), int(p))
        decoded = base64.b64decode(salt), base64.b64decode(expected)
    except ValueError:
        return None
    if scheme != "scrypt" or min(cost.n, cost.r, cost.p) < 1:
        return None
    return (cost, *decoded) if _LARGEST.covers(cost) else None


def verify_password(password: str, stored: str) -> bool:
    parsed = _parse(stored)
    if parsed is None:
        return False
    cost, salt, expected = parsed
    try:
        derived = _derive(password, salt, cost)
    except ValueError:  # N not a power of two
        return False
    return hmac.compare_digest(derived, expected)


def needs_rehash(stored: str) -> bool:
    """True when `stored` was made at a lower cost than today's."""
    parsed = _parse(stored)
    return parsed is None or not parsed[0].covers(current_cost())


@functools.cache
def _dummy_hash(cost: ScryptCost) -> str:
    return hash_password(secrets.token_urlsafe(16), cost)


def spend_a_check(password: str) -> None:
    """Take as long as checking a real password, for a user that does not exist."""
    verify_password(password, _dummy_hash(current_cost()))
