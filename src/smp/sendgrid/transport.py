"""The read-only guard: a transport wrapper through which only GET can pass."""

from __future__ import annotations

import functools
import ssl

import certifi
import httpx

from smp.sendgrid.errors import ReadOnlyViolation
from smp.sendgrid.http11 import Http11Transport

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


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~15 ms of CPU; one client per key per sync
    # run would pay it every time, so the process shares one context.
    return ssl.create_default_context(cafile=certifi.where())


def default_transport() -> httpx.AsyncBaseTransport:
    """The network transport; retries are HttpCore's, so it makes none of its own."""
    return Http11Transport(_tls_context())
