"""What no connected key can read, and the scope that would let one read it.

An empty collection means "none" only when a key could read it; otherwise the
web UI, the CLI and the API say what cannot be read and what to add. Keys are
chosen the way the sync chooses them (`smp.sync.engine.Run.key_for`): a
capability goes to the first-added key that has it, and subusers' credits and
volume need one more scope on that same key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from smp.model import ServiceAccount
from smp.sendgrid.capabilities import CAPABILITIES, missing_scopes
from smp.vocabulary import Capability

_NEEDS = {c.name: tuple(missing_scopes(c, frozenset())) for c in CAPABILITIES}


@dataclass(frozen=True, slots=True)
class Read:
    """One kind of data: the capability that reads it, the extra scope its key
    needs (if any), and how a sentence names it."""

    capability: Capability
    extra: str | None
    words: str


READS: dict[str, Read] = {
    "members": Read(Capability.MEMBERS, None, "members"),
    "invites": Read(Capability.INVITES, None, "pending invites"),
    "subusers": Read(Capability.SUBUSERS, None, "subusers"),
    "subuser_credits": Read(
        Capability.SUBUSERS, "subusers.credits.read", "subusers' credits"
    ),
    "credits": Read(Capability.USAGE_CREDITS, None, "credits"),
    "volume": Read(Capability.USAGE_VOLUME, None, "e-mail volume"),
    "subuser_volume": Read(
        Capability.USAGE_VOLUME, "subusers.stats.read", "subusers' volume"
    ),
    "invoices": Read(Capability.INVOICES, None, "invoices"),
    "api_keys": Read(Capability.API_KEYS, None, "the account's API keys"),
    "teammate_scopes": Read(
        Capability.TEAMMATE_SCOPES, None, "teammates' scopes and 2FA flags"
    ),
    "sso": Read(Capability.SSO, None, "SSO settings and certificates"),
    "ip_allowlist": Read(Capability.IP_ALLOWLIST, None, "the IP allowlist"),
    "access_activity": Read(Capability.ACCESS_ACTIVITY, None, "access attempts"),
    "validation_jobs": Read(
        Capability.EMAIL_VALIDATION, None, "e-mail validation jobs"
    ),
}


@dataclass(frozen=True, slots=True)
class Unreadable:
    data: str  # a key of READS
    missing: tuple[str, ...]  # the scopes to add
    message: str  # e.g. "This key cannot read subusers: add subusers.read"


def _message(
    read: Read, missing: tuple[str, ...], keys: int, chosen: ServiceAccount | None
) -> str:
    if keys == 1:
        who = "This key cannot"
    elif chosen is not None:  # the key that reads the rest lacks the extra scope
        who = f"Key {chosen.display_key} cannot"
    else:
        who = "No connected key can"
    if read.capability is Capability.INVOICES:
        # Billing scopes cannot share a key with any other scope.
        return f"{who} read invoices: connect a key with Billing Access ({missing[0]})"
    if read.capability is Capability.EMAIL_VALIDATION:
        # Validation scopes, too, live on a key of their own.
        return (
            f"{who} read {read.words}: connect a separate Email Validation key "
            f"({missing[0]})"
        )
    return f"{who} read {read.words}: add {', '.join(missing)}"


def unreadable(keys: Sequence[ServiceAccount]) -> dict[str, Unreadable]:
    """Data (a key of READS) -> why none of `keys` (the connected ones) reads it."""
    active = [k for k in keys if not k.is_removed]
    found: dict[str, Unreadable] = {}
    for data, read in READS.items():
        chosen = next((k for k in active if read.capability in k.capabilities), None)
        if chosen is None:
            missing = _NEEDS[read.capability] + ((read.extra,) if read.extra else ())
        elif read.extra is not None and read.extra not in chosen.scopes:
            missing = (read.extra,)
        else:
            continue
        message = _message(read, missing, len(active), chosen)
        found[data] = Unreadable(data, missing, message)
    return found


def among(keys: Sequence[ServiceAccount], data: Iterable[str]) -> list[Unreadable]:
    """Which of `data` (keys of READS, in that order) none of `keys` reads."""
    found = unreadable(keys)
    return [found[name] for name in data if name in found]
