"""One GET with the whole policy around it: auth, pacing, limits, retries, JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from smp.sendgrid.errors import (
    ConnectionFailed,
    ProtocolError,
    RateLimitedError,
    RedirectRefused,
    RequestTimeout,
    SendGridError,
    ServerError,
    TransportError,
    UnreadableBody,
    error_for_status,
)
from smp.sendgrid.keys import ApiKey
from smp.sendgrid.network import ConnectFailure, LastingFailure
from smp.sendgrid.ratelimit import (
    Clock,
    ConcurrencyLimiter,
    Pacer,
    RateLimitInfo,
    RetryPolicy,
)
from smp.sendgrid.transport import ReadOnlyTransport

QueryParams = Mapping[str, str | int | Sequence[str]]
R = TypeVar("R")


@dataclass(slots=True)
class RequestCounters:
    """What a sync run reports about its HTTP traffic."""

    requests: int = 0
    # Requests that got an HTTP answer, whatever its status.
    answers: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    rate_limit_wait_s: float = 0.0


_UNDECODED: Any = object()


class JsonResponse:
    """A 2xx answer. `payload` is decoded on first use: a caller that validates
    `body` in one pass (pydantic's JSON mode) never builds the Python dicts.
    `body` is also kept for page fingerprints.
    """

    __slots__ = ("_content_type", "_path", "_payload", "body", "status")

    def __init__(self, path: str, response: httpx.Response) -> None:
        self._path = path
        self._content_type = response.headers.get("content-type", "")
        self._payload = _UNDECODED
        self.body = response.content
        self.status = response.status_code

    @property
    def payload(self) -> Any:
        """The decoded JSON; `UnreadableBody` for an empty or non-JSON body,
        `ProtocolError` for an error body."""
        if self._payload is _UNDECODED:
            self._payload = _decode(
                self._path, self.status, self.body, self._content_type
            )
        return self._payload


class HttpCore:
    """Sends GETs for one key. Everything above it deals in JSON, not HTTP."""

    def __init__(
        self,
        key: ApiKey,
        base_url: str,
        transport: httpx.AsyncBaseTransport,
        *,
        clock: Clock,
        policy: RetryPolicy,
        limiter: ConcurrencyLimiter,
    ) -> None:
        self.key = key
        self.clock = clock
        self.policy = policy
        self.limiter = limiter
        self.counters = RequestCounters()
        # The latest `X-RateLimit-Limit` SendGrid sent: per-sync budgets
        # (teammate scopes, docs/adr/0021) are a share of it.
        self.rate_limit: int | None = None
        self.pacer = Pacer(clock)
        # Requests go straight to the transport: httpx's client layer (cookies,
        # auth flows, redirects, hooks) is work SMP never needs (ADR 18).
        self.transport = ReadOnlyTransport(transport)
        self._base = base_url.rstrip("/")
        self._host = httpx.URL(self._base).netloc.decode("ascii") or self._base
        self._headers = {
            "Authorization": f"Bearer {key.secret()}",
            "Accept": "application/json",
            "User-Agent": "smp (read-only)",
        }

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def _send(
        self,
        path: str,
        params: QueryParams | None,
        headers: dict[str, str] | None,
        timeout_s: float,
    ) -> httpx.Response:
        request = httpx.Request(
            "GET",
            self._base + path,
            params=params,
            headers={**self._headers, **headers} if headers else self._headers,
            extensions={"timeout": httpx.Timeout(timeout_s).as_dict()},
        )
        response = await self.transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def get_json(
        self,
        path: str,
        params: QueryParams | None = None,
        *,
        scopes: Sequence[str] = (),
        on_behalf_of: str | None = None,
    ) -> JsonResponse:
        """GET `path`, retrying what is worth retrying, and return the JSON."""
        return await self.get(
            path, params, _decoded, scopes=scopes, on_behalf_of=on_behalf_of
        )

    async def get(
        self,
        path: str,
        params: QueryParams | None,
        read: Callable[[JsonResponse], R],
        *,
        scopes: Sequence[str] = (),
        on_behalf_of: str | None = None,
    ) -> R:
        """GET `path`, retrying what is worth retrying, and return `read(answer)`.

        `read` parses the body inside the retry loop, so a body it cannot read
        (`UnreadableBody`: empty, cut short, an HTML page) is retried like a
        5xx, within the same budget. Parsing once here, not on receipt, keeps
        the one-pass page validation (ADR 5, addendum) at one parse a page.
        """
        headers = {"on-behalf-of": on_behalf_of} if on_behalf_of else None
        deadline = self.clock.monotonic() + self.policy.deadline_s
        attempt = 0
        while True:
            attempt += 1
            await self._pace(path)
            answer, delay, rate_limited = await self._attempt(
                path, params, headers, scopes, attempt, deadline
            )
            if isinstance(answer, JsonResponse):
                try:
                    return read(answer)
                except UnreadableBody as unreadable:
                    error: SendGridError = unreadable
                    delay = self.policy.backoff(attempt)
            else:
                error = answer
            remaining = deadline - self.clock.monotonic()
            if attempt >= self.policy.max_attempts or delay > remaining:
                raise error
            self.counters.retries += 1
            if rate_limited:
                self.counters.rate_limit_waits += 1
                self.counters.rate_limit_wait_s += delay
            await self.clock.sleep(delay)

    async def _attempt(
        self,
        path: str,
        params: QueryParams | None,
        headers: dict[str, str] | None,
        scopes: Sequence[str],
        attempt: int,
        deadline: float,
    ) -> tuple[JsonResponse | SendGridError, float, bool]:
        """One try: the answer, or (error, wait before retrying, was it a 429)."""
        timeout = max(
            0.001, min(self.policy.request_timeout_s, deadline - self.clock.monotonic())
        )
        async with self.limiter.slot(self.key.key_id):
            self.counters.requests += 1
            try:
                response = await self._send(path, params, headers, timeout)
            except httpx.TimeoutException:
                return (
                    RequestTimeout(path, "timed out"),
                    self.policy.backoff(attempt),
                    False,
                )
            except (httpx.LocalProtocolError, httpx.InvalidURL) as exc:
                # Nothing was sent, and a retry would build the same request.
                # A header's value stays out of the message (h11 would quote it).
                why = "a header holds CR, LF or NUL"
                if isinstance(exc, httpx.InvalidURL):
                    why = str(exc)  # the URL carries no key
                raise ProtocolError(
                    path, f"the request cannot be sent: {why}"
                ) from None
            except LastingFailure as exc:
                raise ConnectionFailed(path, str(exc)) from None  # retrying won't help
            except httpx.ConnectError as exc:
                # Nothing listens, or no such host: worth one more try, not the
                # whole budget a timeout or a 5xx gets (reported within seconds).
                reason = (
                    str(exc)
                    if isinstance(exc, ConnectFailure)
                    else f"cannot connect to {self._host}"
                )
                if attempt >= self.policy.connect_attempts:
                    raise ConnectionFailed(path, reason) from None
                failed = ConnectionFailed(path, reason)
                return failed, self.policy.backoff(attempt), False
            except httpx.UnsupportedProtocol:
                raise ProtocolError(
                    path, f"{self._base} is not an http:// or https:// URL"
                ) from None
            except httpx.TransportError:
                reason = f"connection to {self._host} lost before an answer"
                return TransportError(path, reason), self.policy.backoff(attempt), False
            except httpx.DecodingError:
                # e.g. "Content-Encoding: gzip" over bytes that are not gzip
                raise ProtocolError(
                    path, "the body does not decode as its Content-Encoding says"
                ) from None
        self.counters.answers += 1
        info = RateLimitInfo.from_headers(response.headers)
        if info.limit is not None and info.limit > 0:
            self.rate_limit = info.limit
        self.pacer.observe(path, info, self.policy)
        status = response.status_code
        if 200 <= status < 300:
            return JsonResponse(path, response), 0.0, False
        if 300 <= status < 400:
            target = httpx.URL(response.headers.get("location", "")).host or "(none)"
            raise RedirectRefused(path, status, target)
        error = error_for_status(
            path,
            status,
            response.content,
            response.headers.get("content-type", ""),
            scopes=scopes,
            reset_at=info.reset_at,
        )
        if isinstance(error, RateLimitedError):
            wait = self.policy.rate_limit_wait(info, self.clock.wall(), attempt)
            return error, wait, True
        if isinstance(error, ServerError):
            return error, self.policy.backoff(attempt), False
        raise error

    async def _pace(self, path: str) -> None:
        delay = self.pacer.delay_for(path)
        if delay > 0:
            self.counters.rate_limit_waits += 1
            self.counters.rate_limit_wait_s += delay
            await self.clock.sleep(delay)


def _decoded(response: JsonResponse) -> JsonResponse:
    """Decode now, inside the retry loop, so a broken body is retried."""
    response.payload  # noqa: B018 (decoded for its error, kept for the caller)
    return response


def _decode(path: str, status: int, body: bytes, content_type: str) -> Any:
    """Parse a 2xx body; empty, HTML and non-JSON bodies are unreadable."""
    if not body.strip():
        raise UnreadableBody(path, f"HTTP {status} with an empty body")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        kind = content_type.split(";")[0] or "unknown"
        raise UnreadableBody(
            path, f"expected JSON, got {kind} ({len(body)} bytes)"
        ) from None
    if _is_error_body(payload):
        # An error body with a 2xx status is still an error, never data.
        messages = [
            entry.get("message", "?") if isinstance(entry, dict) else str(entry)
            for entry in payload["errors"]
        ]
        raise ProtocolError(
            path, "error body with a success status: " + "; ".join(map(str, messages))
        )
    return payload


def _is_error_body(payload: Any) -> bool:
    # Validation jobs carry a legitimate `errors` list next to their data, so
    # only a body that is nothing but `errors` (and an id) counts.
    return (
        isinstance(payload, dict)
        and bool(payload.get("errors"))
        and isinstance(payload["errors"], list)
        and set(payload) <= {"errors", "id"}
    )
