"""SMP's own users: roles, the user record, and the rules for names and passwords."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

MAX_USER_NAME = 64
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
# The API's /users/me is the caller's own account, so no user may be called that.
RESERVED_NAME = "me"
# Beyond letters, marks and digits of any script: what names of people hold.
_NAME_PUNCTUATION = frozenset(" .'_-")


class UserRuleError(ValueError):
    """A user name or password that breaks a rule; the message says which."""


class UserRole(StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: UserRole
    created_at: dt.datetime
    time_zone: str = "UTC"

    @property
    def is_admin(self) -> bool:
        return self.role is UserRole.ADMIN


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    user_id: int
    label: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None


def name_key(name: str) -> str:
    """How a user name is found and kept unique: spaces collapsed, lower case."""
    return " ".join(name.split()).lower()


def clean_user_name(name: str) -> str:
    """The name as typed, spaces collapsed: 1-64 letters, digits, spaces, `.'_-`."""
    cleaned = " ".join(name.split())
    odd = [
        c
        for c in cleaned
        if c not in _NAME_PUNCTUATION and unicodedata.category(c)[0] not in "LMN"
    ]
    # Lower case can be longer (İ is two characters), and the key is stored too.
    longest = max(len(cleaned), len(name_key(cleaned)))
    if not cleaned or longest > MAX_USER_NAME or odd:
        raise UserRuleError(
            f"a user name has 1 to {MAX_USER_NAME} letters, digits, spaces, "
            "dots, apostrophes, underscores or hyphens"
        )
    return cleaned


def clean_new_user_name(name: str) -> str:
    """A name for a new user: `clean_user_name`, and never the reserved `me`."""
    cleaned = clean_user_name(name)
    if name_key(cleaned) == RESERVED_NAME:
        raise UserRuleError("'me' is not a user name: /users/me is each user's own")
    return cleaned


def check_password_rules(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserRuleError(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )
