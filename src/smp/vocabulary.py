"""Words the SendGrid client and the domain model share: key kinds and capabilities.

The lowest layer: the client may not import the model (nor the model the
client), so the one definition of each lives here (ADR 19).
"""

from __future__ import annotations

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
