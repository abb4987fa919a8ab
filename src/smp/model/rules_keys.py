"""Rules over the account's API keys and teammates' 2FA (issue M, items 1–2).

Facts come from the key inventory and the teammate scopes a sync reads
(smp.storage.api_keys). A rule returns None when that data was never read
for the integration: an account always lists at least the key SMP reads
with, so an empty inventory means "not read", not "no keys".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from smp.model.api_keys import NOT_FROM_SENDGRID
from smp.model.findings import Fact, Facts, Observation, Rule, Severity, Threshold
from smp.model.rules_service_accounts import SERVICE_KEYS
from smp.vocabulary import is_full_access, permission_scopes, write_scopes

# Reads SMP itself needs (docs/sync.md): not held against the keys SMP uses.
SMP_READS = frozenset({"api_keys.read", "teammates.read"})
ADMIN_AREAS = ("api_keys.", "teammates.")


@dataclass(frozen=True, slots=True)
class InventoryKey:
    """A key SendGrid listed at the last sync that read the inventory."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    first_seen: dt.datetime
    scopes_changed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class TwoFactorExempt:
    username: str
    user_type: str
    read_at: dt.datetime


API_KEY_INVENTORY: Fact[Sequence[InventoryKey]] = Fact("api_key_inventory")
# None when no teammate's scopes were read yet for the integration.
TWO_FACTOR_EXEMPT: Fact[Sequence[TwoFactorExempt] | None] = Fact("two_factor_exempt")


def _label(key: InventoryKey) -> str:
    return f"{key.name} ({key.key_id})"


def _full(key: InventoryKey) -> bool:
    return is_full_access(permission_scopes(key.scopes))


def full_access_keys(facts: Facts) -> list[Observation] | None:
    keys = facts.get(API_KEY_INVENTORY)
    if not keys:
        return None
    return [
        Observation(
            subject_key=f"api_key:{key.key_id}",
            subject_label=_label(key),
            evidence={
                "key_id": key.key_id,
                "name": key.name,
                "scopes": len(permission_scopes(key.scopes)),
            },
        )
        for key in keys
        if _full(key)
    ]


def powerful_keys(facts: Facts) -> list[Observation] | None:
    """Keys short of full access that can write, or manage keys or teammates."""
    keys = facts.get(API_KEY_INVENTORY)
    if not keys:
        return None
    smp_keys = {key.key_id for key in facts.get(SERVICE_KEYS)}
    found = []
    for key in keys:
        if _full(key):
            continue  # the full-access rule says it, more strongly
        granted = permission_scopes(key.scopes)
        risky = set(write_scopes(granted))
        risky |= {s for s in granted if s.startswith(ADMIN_AREAS)}
        if key.key_id in smp_keys:
            risky -= SMP_READS
        if risky:
            found.append(
                Observation(
                    subject_key=f"api_key:{key.key_id}",
                    subject_label=_label(key),
                    evidence={
                        "key_id": key.key_id,
                        "name": key.name,
                        "risky_scopes": sorted(risky),
                        "used_by_smp": key.key_id in smp_keys,
                    },
                )
            )
    return found


def unchanged_keys(facts: Facts) -> list[Observation] | None:
    keys = facts.get(API_KEY_INVENTORY)
    if not keys:
        return None
    days = facts.threshold(API_KEY_UNCHANGED, "days")
    limit = facts.now - dt.timedelta(days=days)
    return [
        Observation(
            subject_key=f"api_key:{key.key_id}",
            subject_label=_label(key),
            evidence={
                "key_id": key.key_id,
                "name": key.name,
                "unchanged_since": key.scopes_changed_at.date().isoformat(),
                "first_seen_by_smp": key.first_seen.date().isoformat(),
                "created": NOT_FROM_SENDGRID,
                "last_used": NOT_FROM_SENDGRID,
            },
        )
        for key in keys
        if key.scopes_changed_at <= limit
    ]


def exempt_teammates(facts: Facts) -> list[Observation] | None:
    exempt = facts.get(TWO_FACTOR_EXEMPT)
    if exempt is None:
        return None
    return [
        Observation(
            subject_key=f"teammate:{mate.username}",
            subject_label=mate.username,
            evidence={
                "username": mate.username,
                "user_type": mate.user_type,
                "read_at": mate.read_at.isoformat(),
            },
        )
        for mate in exempt
    ]


_KEYS_PAGE = "In SendGrid, open Settings → API Keys."
API_KEY_FULL_ACCESS = Rule(
    id="api_key_full_access",
    severity=Severity.HIGH,
    title="API key with full access",
    explanation=(
        "A Full Access key can send mail, create keys and invite teammates: "
        "whoever holds it controls the account. Few integrations need that."
    ),
    fix=(
        _KEYS_PAGE,
        "Edit the key and choose Restricted Access with only what its user "
        "needs, or create a restricted key, move its users to it and delete "
        "this one.",
    ),
    needs=(API_KEY_INVENTORY,),
    evaluate=full_access_keys,
)
API_KEY_POWERFUL_SCOPES = Rule(
    id="api_key_powerful_scopes",
    severity=Severity.MEDIUM,
    title="API key that can change the account or its keys and teammates",
    explanation=(
        "The key holds scopes that create, update or delete (or send mail), or "
        "that reach API keys or teammates. The reads SMP needs on its own key "
        "(api_keys.read, teammates.read) are not counted."
    ),
    fix=(
        _KEYS_PAGE,
        "Edit the key and remove the scopes listed in the evidence that its "
        "user does not need.",
    ),
    needs=(API_KEY_INVENTORY, SERVICE_KEYS),
    evaluate=powerful_keys,
)
API_KEY_UNCHANGED = Rule(
    id="api_key_unchanged",
    severity=Severity.LOW,
    title="API key unchanged for a long time",
    explanation=(
        "The key's scopes have not changed for longer than the "
        "threshold. SendGrid gives no creation or last-used date, so the "
        "time counts from when SMP first saw the key or its last scope change."
    ),
    fix=(
        _KEYS_PAGE,
        "Ask the key's owner whether it is still used; rotate it (create a new "
        "key, switch its users, delete the old one) or delete it.",
    ),
    needs=(API_KEY_INVENTORY,),
    evaluate=unchanged_keys,
    thresholds=(
        Threshold(
            "days", 180, 1, 3650, "days", "days without a change of the key's scopes"
        ),
    ),
)
TWO_FACTOR_EXEMPT_TEAMMATE = Rule(
    id="two_factor_exempt",
    severity=Severity.MEDIUM,
    title="Teammate exempt from two-factor authentication",
    explanation=(
        "SendGrid marks this teammate 2fa_exempt: they sign in without a "
        "second factor even where the account requires one."
    ),
    fix=(
        "In SendGrid, open Settings → Teammates and select the teammate.",
        "Remove the exemption so that two-factor authentication is required.",
    ),
    needs=(TWO_FACTOR_EXEMPT,),
    evaluate=exempt_teammates,
)

KEY_RULES = (
    API_KEY_FULL_ACCESS,
    API_KEY_POWERFUL_SCOPES,
    API_KEY_UNCHANGED,
    TWO_FACTOR_EXEMPT_TEAMMATE,
)
