"""Fake SendGrid answers built from the spec and the fact sheet, plus a fake clock.

Shapes follow /work/shared/docs/sendgrid-api.md §1–§10. The keys are made up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from smp.sendgrid import ApiKey, ConcurrencyLimiter, RetryPolicy, SendGridClient

KEY_ID = "AbCdEfGhIjKlMnOpQrStUv"  # 22 characters
SECRET = "s3cr3t-" + "x" * 29 + "_SECRET"  # 43 characters
RAW_KEY = f"SG.{KEY_ID}.{SECRET}"
assert len(RAW_KEY) == 69

START_EPOCH = 1_800_000_000.0

Handler = Callable[[httpx.Request], httpx.Response]


class FakeClock:
    """Wall and monotonic time that move only when the code under test sleeps."""

    def __init__(self, wall: float = START_EPOCH) -> None:
        self._wall = wall
        self._mono = 1000.0
        self.sleeps: list[float] = []

    def wall(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._wall += seconds
        self._mono += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(payload).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


def errors_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """SendGrid's error envelope, §1."""
    return json_response(
        {"errors": [{"field": None, "message": message}]}, status, headers
    )


UNAUTHORIZED_REVOKED = {
    "errors": [
        {
            "message": "The provided authorization grant is invalid, expired, "
            "or revoked",
            "field": None,
            "help": None,
        }
    ]
}

PROXY_502_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center></body></html>"
)


def rate_limit_headers(
    *, limit: int = 150, remaining: int, reset: float
) -> dict[str, str]:
    # The casing SendGrid really sends (fact sheet §8).
    return {
        "X-Ratelimit-Limit": str(limit),
        "X-Ratelimit-Remaining": str(remaining),
        "X-Ratelimit-Reset": str(int(reset)),
    }


@dataclass
class Router:
    """A MockTransport handler: routes by path, records every request it sees."""

    routes: dict[str, Handler | Sequence[httpx.Response]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    _queues: dict[str, Iterator[httpx.Response]] = field(default_factory=dict)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get(request.url.path)
        if route is None:
            return errors_response(404, "not found")
        if callable(route):
            return route(request)
        queue = self._queues.setdefault(request.url.path, iter(route))
        return next(queue)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def offset_handler(items: Sequence[Any], envelope: str | None = "result") -> Handler:
    """Serve `items` by `limit`/`offset`, under `envelope` or as a bare array."""

    def handle(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", "500"))
        offset = int(request.url.params.get("offset", "0"))
        page = list(items[offset : offset + limit])
        return json_response(page if envelope is None else {envelope: page})

    return handle


def teammate(n: int) -> dict[str, Any]:
    return {
        "username": f"user{n}",
        "email": f"user{n}@corp.example",
        "first_name": "Jane",
        "last_name": f"Doe{n}",
        "user_type": "teammate",
        "is_admin": False,
        "phone": "",
        "company": "",
    }


def subuser(n: int) -> dict[str, Any]:
    return {
        "id": 1000 + n,
        "username": f"sub{n}",
        "email": f"sub{n}@corp.example",
        "disabled": False,
    }


def make_client(
    handler: Handler | httpx.AsyncBaseTransport,
    *,
    clock: FakeClock | None = None,
    policy: RetryPolicy | None = None,
    base_url: str | None = "https://api.sendgrid.com",
    limiter: ConcurrencyLimiter | None = None,
) -> SendGridClient:
    transport = (
        handler
        if isinstance(handler, httpx.AsyncBaseTransport)
        else httpx.MockTransport(handler)
    )
    return SendGridClient(
        ApiKey.parse(RAW_KEY),
        base_url=base_url,
        transport=transport,
        clock=clock or FakeClock(),
        policy=policy or RetryPolicy(rng=lambda: 0.0),
        limiter=limiter,
    )
