"""What a key can do for SMP, decided from `GET /v3/scopes` before any data call.

capability        needs (every group; "a | b" = either)     optional extras
members           teammates.read
invites           teammates.read (`/v3/teammates/pending`)
subusers          subusers.read                             subusers.credits.read
usage_credits     user.credits.read                         subusers.credits.read
usage_volume      stats.read | stats.global.read            subusers.stats.read
account_identity  user.username.read, user.account.read
invoices          billing.read (a separate Billing key)
email_validation  validations.email.read (a separate key)
api_keys          api_keys.read (`/v3/api_keys`, each key's scopes)
teammate_scopes   teammates.read (`/v3/teammates/{username}`, in turns)
sso               sso.settings.read (SSO integrations, certificates; Pro+)
ip_allowlist      access_settings.whitelist.read
access_activity   access_settings.activity.read (recent access per IP)

SendGrid never says what kind a key is; `classify_key` infers it from scopes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from smp.vocabulary import Capability, KeyKind, is_full_access

# Defined beside the key kinds (ADR 19), used here by their old names.
from smp.vocabulary import permission_scopes as permission_scopes
from smp.vocabulary import write_scopes as write_scopes


@dataclass(frozen=True, slots=True)
class CapabilityRule:
    """What a capability needs of a key's scopes, and how to fix a key without it."""

    name: Capability
    # Every group must be satisfied; a group is satisfied by any one of its scopes.
    requires: tuple[tuple[str, ...], ...]
    fix: str


BILLING_READ_SCOPE = "billing.read"
CAPABILITIES: tuple[CapabilityRule, ...] = (
    CapabilityRule(
        Capability.MEMBERS,
        (("teammates.read",),),
        "add teammates.read; the UI cannot pick it alone, so create the key with "
        "POST /v3/api_keys",
    ),
    CapabilityRule(
        Capability.INVITES,
        (("teammates.read",),),
        "pending invites come with teammates.read (same fix as members)",
    ),
    CapabilityRule(
        Capability.SUBUSERS,
        (("subusers.read",),),
        "add subusers.read (Subuser Management: Read Access; Pro plans and up)",
    ),
    CapabilityRule(
        Capability.USAGE_CREDITS,
        (("user.credits.read",),),
        "add user.credits.read (User Account: Read Access)",
    ),
    CapabilityRule(
        Capability.USAGE_VOLUME,
        (("stats.read", "stats.global.read"),),
        "add stats.read or stats.global.read (Stats: Read Access)",
    ),
    CapabilityRule(
        Capability.ACCOUNT_IDENTITY,
        (("user.username.read",), ("user.account.read",)),
        "add user.username.read and user.account.read (User Account: Read Access)",
    ),
    CapabilityRule(
        Capability.INVOICES,
        ((BILLING_READ_SCOPE,),),
        "invoices need a separate key with Billing Access",
    ),
    CapabilityRule(
        Capability.EMAIL_VALIDATION,
        (("validations.email.read",),),
        "e-mail validation needs a separate Email Validation key (Pro plans and up)",
    ),
    CapabilityRule(
        Capability.API_KEYS,
        (("api_keys.read",),),
        "add api_keys.read (API Keys: Read Access) for the inventory of the "
        "account's keys and their scopes",
    ),
    CapabilityRule(
        Capability.TEAMMATE_SCOPES,
        (("teammates.read",),),
        "each teammate's scopes and 2FA flags come with teammates.read (same fix "
        "as members)",
    ),
    CapabilityRule(
        Capability.SSO,
        (("sso.settings.read",),),
        "add sso.settings.read; the UI cannot pick it, so create the key with "
        "POST /v3/api_keys (SSO itself needs a Pro plan or higher)",
    ),
    CapabilityRule(
        Capability.IP_ALLOWLIST,
        (("access_settings.whitelist.read",),),
        "add access_settings.whitelist.read (IP Access Management: Read Access)",
    ),
    CapabilityRule(
        Capability.ACCESS_ACTIVITY,
        (("access_settings.activity.read",),),
        "add access_settings.activity.read (IP Access Management: Read Access)",
    ),
)
CAPABILITY_NAMES = tuple(c.name for c in CAPABILITIES)

# Read scopes SMP uses on its main key. Billing and validation scopes cannot share
# a key with these, so they are not part of it.
MINIMAL_READ_ONLY_SCOPES: tuple[str, ...] = (
    "access_settings.activity.read",
    "access_settings.whitelist.read",
    "api_keys.read",
    "sso.settings.read",
    "stats.read",
    "subusers.credits.read",
    "subusers.read",
    "subusers.stats.monthly.read",
    "subusers.stats.read",
    "teammates.read",
    "user.account.read",
    "user.credits.read",
    "user.username.read",
)


def has_capability(capability: CapabilityRule, scopes: frozenset[str]) -> bool:
    return all(any(s in scopes for s in group) for group in capability.requires)


def missing_scopes(capability: CapabilityRule, scopes: frozenset[str]) -> list[str]:
    """The preferred scope of each unsatisfied group."""
    return [group[0] for group in capability.requires if not scopes.intersection(group)]


def classify_key(scopes: frozenset[str]) -> KeyKind:
    if not scopes:
        return KeyKind.UNKNOWN
    if all(s.startswith("billing.") for s in scopes):
        return KeyKind.BILLING
    if all(s.startswith("validations.email.") for s in scopes):
        return KeyKind.EMAIL_VALIDATION
    if is_full_access(scopes):
        return KeyKind.FULL
    return KeyKind.RESTRICTED


def read_only_key_request(
    name: str = "smp-read-only", kind: KeyKind = KeyKind.RESTRICTED
) -> dict[str, object]:
    """The exact `POST /v3/api_keys` body for a key with only what SMP reads.

    Billing scopes cannot share a key with any other scope, so a billing key
    gets its own read-only body.
    """
    if kind is KeyKind.BILLING:
        return {"name": "smp-billing-read-only", "scopes": [BILLING_READ_SCOPE]}
    return {"name": name, "scopes": list(MINIMAL_READ_ONLY_SCOPES)}


def applicable(kind: KeyKind) -> frozenset[str]:
    """The capabilities a key of this kind could ever have.

    SendGrid keeps billing and e-mail validation scopes on keys of their own
    that can hold nothing else, so advising such a key to add, say,
    `teammates.read` would send the user after something SendGrid refuses.
    """
    return _ONLY.get(kind, frozenset(CAPABILITY_NAMES))


_ONLY = {
    KeyKind.BILLING: frozenset({Capability.INVOICES}),
    KeyKind.EMAIL_VALIDATION: frozenset({Capability.EMAIL_VALIDATION}),
}
_PURPOSE = {
    KeyKind.BILLING: (
        "A billing key is for invoices and billing: SendGrid does not let it hold "
        "any other permission, so members, credits and volume come from the "
        "access token."
    ),
    KeyKind.EMAIL_VALIDATION: (
        "An e-mail validation key is for e-mail validation only: SendGrid does "
        "not let it hold any other permission."
    ),
}


def kind_purpose(kind: str) -> str | None:
    """What a key of a single-purpose kind is for, or None for other kinds."""
    return _PURPOSE.get(KeyKind(kind)) if kind in set(KeyKind) else None


def over_privilege_warning(writes: list[str]) -> str:
    """One sentence with a count; `read_only_key_advice` says what to make instead."""
    things = "1 thing" if len(writes) == 1 else f"{len(writes)} things"
    return (
        f"This key can change {things} in SendGrid, but SMP only reads: "
        "replace it with a read-only key."
    )


def read_only_key_advice(kind: KeyKind) -> str:
    """How to create the read-only key that should replace an over-privileged one."""
    body = json.dumps(read_only_key_request(kind=kind), separators=(",", ":"))
    why = (
        ""
        if kind is KeyKind.BILLING
        else " (SendGrid's UI cannot make a teammates-only key)"
    )
    return f"Create it with the API{why}: POST /v3/api_keys {body}"
