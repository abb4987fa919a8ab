"""The company's people (the directory), and how SendGrid accounts are classified.

SendGrid has no SCIM, so the directory comes to SMP: from a file (HR export)
or from an identity provider over SCIM. Each SendGrid account (teammate,
pending invite, subuser) is then matched to a person by e-mail and classified.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum


class PersonStatus(StrEnum):
    ACTIVE = "active"
    TERMINATED = "terminated"
    LEAVE = "leave"
    # Missing from a full re-import of their source, or deleted over SCIM:
    # kept for history, and treated like terminated.
    GONE = "gone"


# The statuses of someone who has left: their accounts still listed are leavers'.
LEFT_STATUSES = frozenset({PersonStatus.TERMINATED, PersonStatus.GONE})

# What a file or a SCIM client may set; `gone` is SMP's own verdict.
IMPORTABLE_STATUSES = (PersonStatus.ACTIVE, PersonStatus.TERMINATED, PersonStatus.LEAVE)


class PersonType(StrEnum):
    EMPLOYEE = "employee"
    CONTRACTOR = "contractor"
    PARTNER = "partner"
    SERVICE = "service"


class AccountKind(StrEnum):
    TEAMMATE = "teammate"
    INVITE = "invite"
    SUBUSER = "subuser"


class MatchedBy(StrEnum):
    EMAIL = "email"
    ALIAS = "alias"
    MANUAL = "manual"


class Classification(StrEnum):
    EMPLOYEE = "employee"
    CONTRACTOR = "contractor"
    PARTNER = "partner"
    SERVICE = "service"
    LEAVER = "leaver"
    UNKNOWN_INTERNAL = "unknown_internal"
    EXTERNAL = "external"
    # Two people claim the e-mail: reported, never guessed.
    AMBIGUOUS = "ambiguous"


def email_key(email: str) -> str:
    """The form both sides are compared in: NFKC, then casefolded, trimmed.

    NFKC folds compatibility forms (full-width letters, ligatures) and
    casefold() handles every script (ß → ss), which lower() does not.
    """
    return unicodedata.normalize("NFKC", email).casefold().strip()


def domain_of(key: str) -> str:
    """The domain of an already-normalised e-mail key ('' when it has none)."""
    return key.rpartition("@")[2] if "@" in key else ""


def domain_key(domain: str) -> str:
    """A company domain as it is compared: normalised like e-mails, no '@'."""
    return email_key(domain).lstrip("@").rstrip(".")


@dataclass(frozen=True, slots=True)
class Person:
    """One person of the directory, as SMP keeps them."""

    id: int
    source: str
    email: str
    status: PersonStatus
    type: PersonType
    employee_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    department: str | None = None
    manager_email: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    aliases: tuple[str, ...] = field(default=())
    # When SMP learnt they were terminated or gone (not the HR end date).
    terminated_at: dt.datetime | None = None

    @property
    def has_left(self) -> bool:
        return self.status in LEFT_STATUSES

    @property
    def display_name(self) -> str:
        names = [n for n in (self.first_name, self.last_name) if n]
        return " ".join(names) if names else self.email
