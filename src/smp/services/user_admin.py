"""Managing SMP users and API tokens: what the CLI, the API and the web pages share.

Each use case is one transaction and refuses with `Refused`: a broken name or
password rule is about that field, a taken name is a conflict, an unknown user
or token is not found, and the last admin always stays one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from smp.model.users import ApiToken, User, UserRole, UserRuleError, name_key
from smp.services.audit import Actor, record
from smp.services.refusals import Refused, refusing
from smp.services.users import (
    create_user,
    generated_password,
    set_password,
    set_time_zone,
)
from smp.storage.users import (
    create_api_token,
    delete_user,
    revoke_api_token,
    set_role,
)


@contextmanager
def _changing(engine: Engine, *, conflict: bool = False) -> Iterator[Session]:
    """One transaction whose storage refusals are `Refused` (a conflict if asked)."""
    try:
        with refusing(), Session(engine) as session, session.begin():
            yield session
    except Refused as error:
        if conflict and error.kind == "invalid":
            raise Refused(str(error), kind="conflict") from None
        raise


def _rule_field(error: UserRuleError) -> str:
    return "password" if str(error).startswith("a password") else "name"


def add_user(
    engine: Engine,
    name: str,
    password: str,
    role: UserRole,
    *,
    audit_as: Actor | None = None,
) -> User:
    try:
        with refusing(name_field="name"), Session(engine) as session, session.begin():
            added = create_user(session, name, password, role)
            record(session, audit_as, "user.add", added.name, {"role": role.value})
            return added
    except UserRuleError as error:
        raise Refused(str(error), field=_rule_field(error)) from None


def remove_user(
    engine: Engine,
    name: str,
    *,
    by: str | None = None,
    audit_as: Actor | None = None,
) -> None:
    """Remove a user with their tokens and sessions; `by` may not remove themselves."""
    if by is not None and name_key(name) == name_key(by):
        raise Refused("you cannot remove yourself", kind="conflict")
    with _changing(engine, conflict=True) as session:
        delete_user(session, name)
        record(session, audit_as, "user.remove", name)


def change_role(
    engine: Engine, name: str, role: UserRole, *, audit_as: Actor | None = None
) -> User:
    with _changing(engine, conflict=True) as session:
        changed = set_role(session, name, role)
        record(session, audit_as, "user.role", changed.name, {"role": role.value})
        return changed


def change_password(
    engine: Engine,
    name: str,
    password: str,
    *,
    audit_as: Actor | None = None,
    action: str = "user.password",
) -> None:
    """A new password; the user's browser sessions and API tokens end."""
    try:
        with _changing(engine) as session:
            set_password(session, name, password)
            record(session, audit_as, action, name)
    except UserRuleError as error:
        raise Refused(str(error), field="password") from None


def reset_password(engine: Engine, name: str, *, audit_as: Actor | None = None) -> str:
    """A generated password, to show once; the user's sessions and tokens end."""
    password = generated_password()
    change_password(
        engine, name, password, audit_as=audit_as, action="user.password_reset"
    )
    return password


def change_time_zone(
    engine: Engine, name: str, time_zone: str, *, audit_as: Actor | None = None
) -> User:
    try:
        with _changing(engine) as session:
            changed = set_time_zone(session, name, time_zone)
            details = {"time_zone": changed.time_zone}
            record(session, audit_as, "user.time_zone", name, details)
            return changed
    except UserRuleError as error:
        raise Refused(str(error), field="time_zone") from None


def new_token(
    engine: Engine, name: str, label: str, *, audit_as: Actor | None = None
) -> tuple[ApiToken, str]:
    """A bearer token for `name`: (its record, the token, to show once)."""
    with _changing(engine) as session:
        token, raw = create_api_token(session, name, label)
        details = {"token_id": token.id, "label": token.label}
        record(session, audit_as, "token.create", name, details)
        return token, raw


def revoke_token(
    engine: Engine, name: str, token_id: int, *, audit_as: Actor | None = None
) -> None:
    """Revoke one of `name`'s own tokens; another user's token is not found."""
    with _changing(engine) as session:
        revoke_api_token(session, name, token_id)
        record(session, audit_as, "token.revoke", name, {"token_id": token_id})
