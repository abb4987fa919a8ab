"""Words for people: key kinds, capabilities and counts, shared by the web and the CLI.

Stored values (`full`, `email_validation`) stay in JSON and the API;
these labels are what a page or a terminal table shows instead.
"""

from __future__ import annotations

from smp.vocabulary import Capability, KeyKind

_KEY_KINDS: dict[str, str] = {
    KeyKind.FULL: "Full access",
    KeyKind.RESTRICTED: "Restricted",
    KeyKind.BILLING: "Billing",
    KeyKind.EMAIL_VALIDATION: "E-mail validation",
    KeyKind.UNKNOWN: "Unknown",
}
_CAPABILITIES: dict[str, str] = {
    Capability.MEMBERS: "Members",
    Capability.INVITES: "Pending invites",
    Capability.SUBUSERS: "Subusers",
    Capability.USAGE_CREDITS: "Credits used",
    Capability.USAGE_VOLUME: "E-mail volume",
    Capability.ACCOUNT_IDENTITY: "Account name",
    Capability.INVOICES: "Invoices",
    Capability.EMAIL_VALIDATION: "E-mail validation",
    Capability.API_KEYS: "API keys",
    Capability.TEAMMATE_SCOPES: "Teammate permissions",
    Capability.SSO: "SSO",
    Capability.IP_ALLOWLIST: "IP allowlist",
    Capability.ACCESS_ACTIVITY: "Access activity",
}


def _fallback(value: str) -> str:
    """An unknown value as a sentence-case phrase rather than a raw identifier."""
    words = value.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def key_kind_label(kind: str) -> str:
    """`full` → "Full access"; an enum member works too (it is a str)."""
    return _KEY_KINDS.get(str(kind), _fallback(str(kind)))


def capability_label(name: str) -> str:
    """`usage_credits` → "Credits used"."""
    return _CAPABILITIES.get(str(name), _fallback(str(name)))


def plural(count: int, word: str, words: str | None = None) -> str:
    """`plural(1, "write scope")` → "1 write scope"; 2 → "2 write scopes"."""
    noun = word if count == 1 else (words or f"{word}s")
    return f"{count:,} {noun}"
