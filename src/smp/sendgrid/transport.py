"""The read-only guard: a transport wrapper through which only GET can pass."""

from __future__ import annotations

import httpx

from smp.sendgrid.errors import ReadOnlyViolation
from smp.sendgrid.network import NetworkTransport

ALLOWED_METHODS = frozenset({"GET"})


class ReadOnlyTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport and refuses any non-GET request before delegating.

    The client exposes no non-GET method either; this is the second lock, so a
    future bug (or someone reaching for `client.http.post`) still sends nothing.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method not in ALLOWED_METHODS:
            raise ReadOnlyViolation(
                f"{request.method} {request.url.path} refused: SMP only reads SendGrid"
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def default_transport(base_url: str) -> httpx.AsyncBaseTransport:
    """The network transport for `base_url`; retries are HttpCore's, not its own."""
    return NetworkTransport(base_url)
