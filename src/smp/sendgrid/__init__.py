"""SendGrid client: the only code that speaks HTTP to SendGrid, and only GET.

Entry points: `ApiKey.parse`, `SendGridClient`, `diagnose`. Errors: see
`smp.sendgrid.errors`. Retry/rate-limit policy: `RetryPolicy`, `Clock`.
"""

from __future__ import annotations

from smp.sendgrid.capabilities import (
    CAPABILITIES,
    CAPABILITY_NAMES,
    MINIMAL_READ_ONLY_SCOPES,
    CapabilityRule,
    classify_key,
    permission_scopes,
    read_only_key_request,
    write_scopes,
)
from smp.sendgrid.client import SendGridClient, SubuserAccessList
from smp.sendgrid.doctor import KeyReport, diagnose, report_from_scopes
from smp.sendgrid.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConnectionFailed,
    ErrorDetail,
    MalformedKeyError,
    MissingScopeError,
    NotFoundError,
    PaginationLoop,
    ProtocolError,
    RateLimitedError,
    ReadOnlyViolation,
    RedirectRefused,
    RequestTimeout,
    SendGridError,
    ServerError,
    TransportError,
    UnexpectedShape,
)
from smp.sendgrid.http import RequestCounters
from smp.sendgrid.keys import ApiKey
from smp.sendgrid.ratelimit import (
    NO_RETRIES,
    Clock,
    ConcurrencyLimiter,
    RateLimitInfo,
    RetryPolicy,
    SystemClock,
)
from smp.sendgrid.regions import (
    BASE_URLS,
    Region,
    check_base_url,
    check_region,
    resolve_base_url,
)
from smp.sendgrid.transport import ReadOnlyTransport
from smp.vocabulary import Capability, KeyKind

__all__ = [
    "BASE_URLS",
    "CAPABILITIES",
    "CAPABILITY_NAMES",
    "MINIMAL_READ_ONLY_SCOPES",
    "NO_RETRIES",
    "ApiError",
    "ApiKey",
    "AuthenticationError",
    "BadRequestError",
    "Capability",
    "CapabilityRule",
    "Clock",
    "ConcurrencyLimiter",
    "ConnectionFailed",
    "ErrorDetail",
    "KeyKind",
    "KeyReport",
    "MalformedKeyError",
    "MissingScopeError",
    "NotFoundError",
    "PaginationLoop",
    "ProtocolError",
    "RateLimitInfo",
    "RateLimitedError",
    "ReadOnlyTransport",
    "ReadOnlyViolation",
    "RedirectRefused",
    "Region",
    "RequestCounters",
    "RequestTimeout",
    "RetryPolicy",
    "SendGridClient",
    "SendGridError",
    "ServerError",
    "SubuserAccessList",
    "SystemClock",
    "TransportError",
    "UnexpectedShape",
    "check_base_url",
    "check_region",
    "classify_key",
    "diagnose",
    "permission_scopes",
    "read_only_key_request",
    "report_from_scopes",
    "resolve_base_url",
    "write_scopes",
]
