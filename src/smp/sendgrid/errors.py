"""Every error the SendGrid client raises, in one tree.

    SendGridError
    ├── MalformedKeyError     key fails the format check; nothing was sent
    ├── ReadOnlyViolation     a method other than GET was attempted; nothing was sent
    ├── TransportError        no HTTP answer (after retries)
    │   ├── ConnectionFailed  no connection to the host or its proxy, or an
    │   │                     untrusted certificate; named in plain words
    │   └── RequestTimeout    timed out (after retries)
    ├── ProtocolError         SendGrid (or a proxy) answered in a way we cannot use:
    │   │                     non-JSON/HTML body, empty body, unexpected shape
    │   ├── UnexpectedShape   valid JSON, but not a shape this endpoint answers
    │   ├── UnreadableBody    a 2xx body that is empty or not JSON (cut short, HTML);
    │   │                     retried like a 5xx, raised when the budget ran out
    │   ├── RedirectRefused   3xx; never followed, so the key never goes elsewhere
    │   └── PaginationLoop    the same page (or page token) came back twice
    └── ApiError              SendGrid answered with an error status
        ├── AuthenticationError   401: invalid, expired or revoked key; never retried
        ├── MissingScopeError     403: the key lacks a scope; names endpoint + scopes
        ├── NotFoundError         404
        ├── RateLimitedError      429 still there when the retry budget ran out
        ├── ServerError           5xx still there when the retry budget ran out
        └── BadRequestError       any other 4xx

SendGrid's `{"errors": [{"message", "field", "help"}]}` body is parsed into
`ApiError.details`. No message here ever contains the API key: errors know the
endpoint path and the key's redacted form at most.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One entry of SendGrid's `errors[]`."""

    message: str
    field: str | None = None


class SendGridError(Exception):
    """Base of every client error."""


class MalformedKeyError(SendGridError):
    """The key is not `SG.` + 22 + `.` + 43 characters."""


class ReadOnlyViolation(SendGridError):
    """SMP only reads: any other HTTP method is refused before it is sent."""


class TransportError(SendGridError):
    """The request did not get an HTTP answer."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(f"GET {endpoint}: {reason}")
        self.endpoint = endpoint


class ConnectionFailed(TransportError):
    """No connection: the message is the reason alone, as it names the host."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(endpoint, reason)
        self.args = (reason,)
        self.reason = reason


class RequestTimeout(TransportError):
    """The request timed out."""


class ProtocolError(SendGridError):
    """The answer cannot be used as data."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(f"GET {endpoint}: {reason}")
        self.endpoint = endpoint
        self.reason = reason


class UnexpectedShape(ProtocolError):
    """Valid JSON that is not in a shape the endpoint is known to answer.

    Apart so that a caller can tell "SendGrid says something else here" from a
    broken answer (an empty body, an HTML page): for an undocumented endpoint
    the first may be SendGrid's normal answer.
    """


class UnreadableBody(ProtocolError):
    """A 2xx answer whose body is empty or not JSON: cut short on the way, or
    a proxy's HTML page. The next try may well be whole, so it is retried."""


class RedirectRefused(ProtocolError):
    """A 3xx answer; following it could send the key to another host."""

    def __init__(self, endpoint: str, status: int, target_host: str) -> None:
        super().__init__(
            endpoint,
            f"redirect {status} to host {target_host!r} refused (not followed)",
        )
        self.status = status
        self.target_host = target_host


class PaginationLoop(ProtocolError):
    """The server returned a page we had already seen."""


class ApiError(SendGridError):
    """SendGrid answered with an error status."""

    def __init__(
        self,
        endpoint: str,
        status: int,
        details: Sequence[ErrorDetail] = (),
        note: str = "",
    ) -> None:
        self.endpoint = endpoint
        self.status = status
        self.details = tuple(details)
        self.note = note
        super().__init__(self._compose())

    @property
    def messages(self) -> list[str]:
        return [detail.message for detail in self.details]

    def _compose(self) -> str:
        text = "; ".join(self.messages) or self.note or "no error message"
        if self.details and self.note:
            text = f"{text} ({self.note})"
        return f"GET {self.endpoint}: HTTP {self.status}: {text}"


class AuthenticationError(ApiError):
    """401: the key is invalid, expired or revoked."""


class MissingScopeError(ApiError):
    """403: the key lacks a scope this endpoint needs."""

    def __init__(
        self,
        endpoint: str,
        status: int,
        details: Sequence[ErrorDetail] = (),
        note: str = "",
        scopes: Sequence[str] = (),
    ) -> None:
        self.scopes = tuple(scopes)
        if self.scopes:
            note = f"{note}; " if note else ""
            note += "needs scope " + " or ".join(self.scopes)
        super().__init__(endpoint, status, details, note)


class NotFoundError(ApiError):
    """404."""


class RateLimitedError(ApiError):
    """429 that outlasted the retry budget."""

    def __init__(
        self,
        endpoint: str,
        status: int,
        details: Sequence[ErrorDetail] = (),
        note: str = "",
        reset_at: float | None = None,
    ) -> None:
        self.reset_at = reset_at
        super().__init__(endpoint, status, details, note)


class ServerError(ApiError):
    """5xx that outlasted the retry budget."""


class BadRequestError(ApiError):
    """Any other 4xx."""


def parse_error_details(body: bytes) -> tuple[ErrorDetail, ...]:
    """Read SendGrid's `errors[]`; anything else (HTML, junk) gives no details."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ()
    if not isinstance(payload, dict):
        return ()
    entries = payload.get("errors")
    if not isinstance(entries, list):
        return ()
    details = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("message"), str):
            field = entry.get("field")
            details.append(
                ErrorDetail(entry["message"], field if isinstance(field, str) else None)
            )
        elif isinstance(entry, str):
            details.append(ErrorDetail(entry))
    return tuple(details)


def error_for_status(
    endpoint: str,
    status: int,
    body: bytes,
    content_type: str,
    *,
    scopes: Sequence[str] = (),
    reset_at: float | None = None,
) -> ApiError:
    """Build the right `ApiError` subclass for a non-2xx answer."""
    details = parse_error_details(body)
    note = "" if details else _describe_body(body, content_type)
    if status == 401:
        return AuthenticationError(endpoint, status, details, note)
    if status == 403:
        return MissingScopeError(endpoint, status, details, note, scopes=scopes)
    if status == 404:
        return NotFoundError(endpoint, status, details, note)
    if status == 429:
        return RateLimitedError(endpoint, status, details, note, reset_at=reset_at)
    if status >= 500:
        return ServerError(endpoint, status, details, note)
    return BadRequestError(endpoint, status, details, note)


def _describe_body(body: bytes, content_type: str) -> str:
    if not body:
        return "empty body"
    kind = content_type.split(";")[0].strip() or "unknown content type"
    return f"non-JSON body ({kind}, {len(body)} bytes)"
