"""Access reviews: campaigns, decisions, the frozen snapshot and bulk filters.

A campaign freezes every account of some integrations when it starts; each
item is then decided keep, revoke or modify (a new role). docs/reviews.md
describes the cycle; this module holds the rules without any storage:

- `check_decision`: revoke and modify need a reason, modify a valid new role;
- `snapshot_digest`: the SHA-256 of the frozen fields as canonical JSON;
- `parse_filter`: the small `FIELD=VALUE and FIELD!=VALUE` language of
  `smp reviews items|decide --filter`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from smp.model.enums import Role
from smp.model.people import AccountKind, Classification


class ReviewRuleError(ValueError):
    """A decision or filter that breaks a rule; the message says which, in one line."""


class CampaignStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Decision(StrEnum):
    KEEP = "keep"
    REVOKE = "revoke"
    MODIFY = "modify"


class ReviewerRule(StrEnum):
    # The integration's named SMP user reviews every account.
    OWNER = "owner"
    # The person's manager from the directory (else the integration's owner).
    MANAGER = "manager"


class Remediation(StrEnum):
    # Nothing to change in SendGrid: kept, or not decided yet.
    NONE = "none"
    # Revoked or modified: someone must change SendGrid (SMP only reads it).
    PENDING = "pending"
    VERIFIED = "verified"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    name: str
    status: CampaignStatus
    integration_ids: tuple[int, ...]
    due: dt.date | None
    reviewer_rule: ReviewerRule
    created_by: str | None
    created_at: dt.datetime
    signed_off_by: str | None
    signed_off_at: dt.datetime | None
    snapshot_sha256: str
    # Counted over the items the reader may see (a reviewer: their own).
    items: int = 0
    decided: int = 0


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: int
    campaign_id: int
    integration_id: int
    account_kind: str
    account_key: str
    email: str | None
    username: str | None
    role: str | None
    scopes: tuple[str, ...] | None
    is_sso: bool | None
    two_fa: Mapping[str, bool] | None
    person_id: int | None
    person_name: str | None
    department: str | None
    manager_email: str | None
    classification: str
    open_findings: tuple[Mapping[str, Any], ...]
    reviewer: str | None
    decision: Decision | None
    new_role: str | None
    reason: str | None
    decided_by: str | None
    decided_at: dt.datetime | None
    remediation: Remediation
    remediation_verified_at: dt.datetime | None = None


# --- decisions -----------------------------------------------------------------

MAX_REASON = 1000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Verdict:
    """A checked decision, ready to be written to one or many items."""

    decision: Decision
    new_role: Role | None
    reason: str | None

    @property
    def remediation(self) -> Remediation:
        if self.decision is Decision.KEEP:
            return Remediation.NONE
        return Remediation.PENDING


def check_decision(
    decision: Decision | str, *, new_role: str | None = None, reason: str | None = None
) -> Verdict:
    """Revoke and modify need a reason; modify needs a new role, and only it."""
    try:
        chosen = Decision(str(decision).strip().lower())
    except ValueError:
        raise ReviewRuleError(
            f"unknown decision {decision!r}: use keep, revoke or modify"
        ) from None
    cleaned = (reason or "").strip() or None
    if cleaned is not None:
        if len(cleaned) > MAX_REASON:
            raise ReviewRuleError(f"the reason is longer than {MAX_REASON} characters")
        if _CONTROL.search(cleaned):
            raise ReviewRuleError("the reason holds control characters")
    if chosen is not Decision.KEEP and cleaned is None:
        raise ReviewRuleError(f"a {chosen.value} decision needs a reason: say why")
    role: Role | None = None
    if chosen is Decision.MODIFY:
        if not new_role or not new_role.strip():
            raise ReviewRuleError("a modify decision needs the new role (--role)")
        try:
            role = Role(new_role.strip().lower())
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ReviewRuleError(
                f"unknown role {new_role!r}: use one of {known}"
            ) from None
    elif new_role:
        raise ReviewRuleError("a new role is only given with a modify decision")
    return Verdict(chosen, role, cleaned)


def check_open(status: CampaignStatus | str, name: str) -> None:
    if CampaignStatus(status) is CampaignStatus.CLOSED:
        raise ReviewRuleError(
            f"campaign {name!r} is closed (signed off): its decisions are final"
        )


# --- the frozen snapshot ---------------------------------------------------------

# The fields frozen at creation, in the order the canonical JSON lists them
# (sort_keys orders each object anyway; this is what goes in).
SNAPSHOT_FIELDS = (
    "item_id",
    "integration_id",
    "account_kind",
    "account_key",
    "email",
    "username",
    "role",
    "scopes",
    "is_sso",
    "two_fa",
    "person_id",
    "person_name",
    "department",
    "manager_email",
    "classification",
    "open_findings",
)


# One encoder for every call: json.dumps with options builds a new one each time.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> bytes:
    """One byte form per value: sorted keys, no spaces, UTF-8 as is."""
    return _CANONICAL.encode(value).encode()


def snapshot_digest(records: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 of the JSON array of the items' frozen fields, in item-id order.

    Each record holds exactly SNAPSHOT_FIELDS. Hashed as it streams, so
    200,000 items never sit in memory as one text; the bytes are those of
    `canonical_json([record, ...])`.
    """
    digest = hashlib.sha256(b"[")
    for number, record in enumerate(records):
        if len(record) != len(SNAPSHOT_FIELDS):
            raise ValueError(f"a snapshot record holds {sorted(record)}")
        if number:
            digest.update(b",")
        digest.update(canonical_json(record))
    digest.update(b"]")
    return digest.hexdigest()


# --- the bulk filter language ------------------------------------------------------

# field -> the values it accepts (None: any text). `none` stands for empty.
FILTER_FIELDS: dict[str, tuple[str, ...] | None] = {
    "integration": None,
    "kind": tuple(k.value for k in AccountKind),
    "email": None,
    "username": None,
    "role": tuple(r.value for r in Role),
    "classification": tuple(c.value for c in Classification),
    "department": None,
    "manager": None,
    "reviewer": None,
    "decision": tuple(d.value for d in Decision),
    "remediation": tuple(r.value for r in Remediation),
}
NONE_WORD = "none"

_TERM = re.compile(
    r"\s*(?P<field>[A-Za-z_]+)\s*(?P<op>!=|=)\s*"
    r"(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>[^\s\"'=!]+))"
)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    # True for `!=`
    negated: bool
    # None for the word `none` (no value); else the text as given.
    value: str | None


def _condition(field: str, op: str, raw: str, quoted: bool) -> Condition:
    name = field.lower()
    if name not in FILTER_FIELDS:
        raise ReviewRuleError(
            f"filter: unknown field {field!r}; use one of {', '.join(FILTER_FIELDS)}"
        )
    value: str | None = raw
    if not quoted and raw.lower() == NONE_WORD:
        value = None
    allowed = FILTER_FIELDS[name]
    if value is not None and allowed is not None:
        value = value.lower()
        if value not in allowed:
            raise ReviewRuleError(
                f"filter: {name} is one of {', '.join(allowed)} or none, not {raw!r}"
            )
    return Condition(name, op == "!=", value)


def parse_filter(expression: str) -> tuple[Condition, ...]:
    """`FIELD=VALUE [and FIELD!=VALUE]…`; a value with spaces is quoted.

    >>> parse_filter('classification=employee and department="Customer Success"')[1]
    Condition(field='department', negated=False, value='Customer Success')
    """
    text = expression.strip()
    if not text:
        raise ReviewRuleError("filter: empty; write FIELD=VALUE, e.g. role=admin")
    if _CONTROL.search(text):  # PostgreSQL refuses NUL in text: a 500, not a match
        raise ReviewRuleError("filter: holds control characters")
    conditions: list[Condition] = []
    position = 0
    while True:
        term = _TERM.match(text, position)
        if term is None:
            rest = text[position:].strip()
            raise ReviewRuleError(
                f"filter: expected FIELD=VALUE or FIELD!=VALUE at {rest[:40]!r}"
            )
        quoted = term["dq"] is not None or term["sq"] is not None
        raw = term["dq"] if term["dq"] is not None else term["sq"] or term["bare"]
        conditions.append(_condition(term["field"], term["op"], raw or "", quoted))
        position = term.end()
        if position == len(text):
            return tuple(conditions)
        joined = _AND.match(text, position)
        if joined is None:
            rest = text[position:].strip()
            raise ReviewRuleError(
                f"filter: expected 'and' before {rest[:40]!r} "
                "(only 'and' joins conditions)"
            )
        position = joined.end()
