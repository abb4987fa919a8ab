"""Words the SendGrid client and the domain model share: key kinds and capabilities.

The lowest layer: the client may not import the model (nor the model the
client), so the one definition of each lives here (ADR 19).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class KeyKind(StrEnum):
    """What a SendGrid key is, inferred from its scopes (SendGrid never says)."""

    FULL = "full"
    RESTRICTED = "restricted"
    BILLING = "billing"
    EMAIL_VALIDATION = "email_validation"
    UNKNOWN = "unknown"


class Capability(StrEnum):
    """One kind of data SMP can read with a key."""

    MEMBERS = "members"
    INVITES = "invites"
    SUBUSERS = "subusers"
    USAGE_CREDITS = "usage_credits"
    USAGE_VOLUME = "usage_volume"
    ACCOUNT_IDENTITY = "account_identity"
    INVOICES = "invoices"
    EMAIL_VALIDATION = "email_validation"
    API_KEYS = "api_keys"
    TEAMMATE_SCOPES = "teammate_scopes"
    SSO = "sso"
    IP_ALLOWLIST = "ip_allowlist"
    ACCESS_ACTIVITY = "access_activity"


# What makes a key "full access" or able to write, from its scopes alone: the
# doctor (smp.sendgrid) and the key inventory (smp.model) use one definition.
WRITE_SUFFIXES = (".create", ".update", ".delete")
# `mail.send` writes nothing to the account, but a leaked key could send mail.
WRITE_SCOPES_EXTRA = frozenset({"mail.send"})
# A Full Access key holds every permission except billing and e-mail
# validation: about 206 scopes on a real account (fact sheet §2), 149 in the
# simulator's catalogue. These four are never all on a narrower key by
# accident, and 50 keeps a hand-made key with only them from counting.
FULL_ACCESS_MARKERS = frozenset(
    {"api_keys.create", "api_keys.delete", "mail.send", "teammates.create"}
)
FULL_ACCESS_MIN_SCOPES = 50


def permission_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """Drop SendGrid's automatic flags (`2fa_required`, `sender_verification_*`).

    Real permissions are always `area.action` with a dot; the flags have none.
    """
    return frozenset(
        s for s in scopes if "." in s and not s.startswith("sender_verification")
    )


def is_full_access(permission_scopes: frozenset[str]) -> bool:
    """Whether permission scopes (SendGrid's flags dropped) make a full key."""
    return (
        permission_scopes >= FULL_ACCESS_MARKERS
        and len(permission_scopes) >= FULL_ACCESS_MIN_SCOPES
    )


def write_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes that let a key change something (or send mail), sorted."""
    return sorted(
        s for s in scopes if s.endswith(WRITE_SUFFIXES) or s in WRITE_SCOPES_EXTRA
    )
