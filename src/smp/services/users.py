"""SMP users: adding them, passwords and time zones, signing in, the first admin.

The CLI, the API and the web all change users through here, so the name and
password rules (`smp.model.users`) and the hashing (`smp.services.passwords`)
apply alike; `smp.storage.users` only stores what it is given.
"""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from functools import cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model.users import (
    MAX_PASSWORD,
    User,
    UserRole,
    UserRuleError,
    check_password_rules,
    clean_new_user_name,
)
from smp.services.audit import Actor, record
from smp.services.passwords import (
    hash_password,
    needs_rehash,
    spend_a_check,
    verify_password,
)
from smp.storage.users import (
    Login,
    count_admins,
    find_login,
    insert_user,
    replace_password_hash,
    store_password_hash,
    store_time_zone,
)

FIRST_ADMIN = "admin"


def create_user(
    session: Session,
    name: str,
    password: str,
    role: UserRole,
    *,
    now: dt.datetime | None = None,
) -> User:
    """Add a user: the name and password follow the rules, the password is hashed."""
    cleaned = clean_new_user_name(name)
    check_password_rules(password)
    return insert_user(session, cleaned, role, hash_password(password), now=now)


def generated_password() -> str:
    """A random password for a reset: 120 bits, shown once to whoever reset it."""
    return secrets.token_urlsafe(15)


def set_password(session: Session, name: str, password: str) -> None:
    """Change a password; that user's browser sessions and API tokens end."""
    check_password_rules(password)
    store_password_hash(session, name, hash_password(password))


@cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names this machine knows."""
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(name: str) -> str:
    cleaned = name.strip()
    if cleaned not in time_zones():
        raise UserRuleError("that is not an IANA time zone name, such as Europe/Paris")
    return cleaned


def set_time_zone(session: Session, name: str, time_zone: str) -> User:
    return store_time_zone(session, name, check_time_zone(time_zone))


def check_login(found: Login | None, password: str) -> bool:
    """True when `password` is the found user's (same cost when none was found).

    Runs outside any transaction: a check holds the CPU for most of a second.
    """
    if found is None or len(password) > MAX_PASSWORD:
        spend_a_check(password[:MAX_PASSWORD])
        return False
    return verify_password(password, found.password_hash)


def upgraded_hash(found: Login, password: str) -> str | None:
    """A new hash of the right `password` when the stored one is below today's cost."""
    return hash_password(password) if needs_rehash(found.password_hash) else None


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The user when the password matches, else None; upgrades an old hash."""
    found = find_login(session, name)
    if not check_login(found, password) or found is None:
        return None
    new_hash = upgraded_hash(found, password)
    if new_hash:
        replace_password_hash(session, found, new_hash)
    return found.user


def ensure_first_admin(engine: Engine, password: str | None) -> str | None:
    """Create `admin` if no admin exists; return the password when it was generated.

    With `password` given (from `SMP_ADMIN_PASSWORD`) nothing needs printing.
    """
    with Session(engine) as session, session.begin():
        if count_admins(session):
            return None
        generated = None
        if not password:
            generated = password = generated_password()
        create_user(session, FIRST_ADMIN, password, UserRole.ADMIN)
        # Nobody signed in made it: SMP itself, as `smp serve` starts.
        details = {"role": UserRole.ADMIN.value, "first_admin": True}
        record(session, Actor(None, "serve"), "user.add", FIRST_ADMIN, details)
    return generated
