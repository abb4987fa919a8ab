"""The closed vocabularies of the domain, as `StrEnum`s (stored as their values)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    USER = "user"


class MemberStatus(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    REMOVED = "removed"


class KeyStatus(StrEnum):
    OK = "ok"
    NEEDS_ATTENTION = "needs_attention"
    INVALID = "invalid"


class EventKind(StrEnum):
    JOINED = "joined"
    LEFT = "left"
    ROLE_CHANGED = "role_changed"
    INVITED = "invited"
    INVITE_EXPIRED = "invite_expired"
    INVITE_ACCEPTED = "invite_accepted"
    # An integration's first listings: what SMP found, not when it happened.
    BASELINE = "baseline"


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    # SendGrid answered, but gave this key no such data (invoices only: the
    # endpoint is undocumented, see docs/adr/0003). Neither a failure nor the
    # key's fault.
    UNAVAILABLE = "unavailable"
