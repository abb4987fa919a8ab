"""`smp users`: SMP's own users (admin or viewer) and their API tokens.

Passwords come from `$SMP_NEW_PASSWORD` or are generated and printed once;
never from arguments, which shell history and process lists keep.
"""

from __future__ import annotations

import os
import secrets
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from smp.cli.runtime import console, open_runtime, user_errors
from smp.storage.users import (
    UserRole,
    create_api_token,
    create_user,
    delete_user,
    list_users,
    set_password,
)

users_app = typer.Typer(help="SMP users and API tokens.", no_args_is_help=True)


def _password() -> tuple[str, bool]:
    given = os.environ.get("SMP_NEW_PASSWORD", "")
    if given:
        return given, False
    return secrets.token_urlsafe(15), True


@users_app.command("add")
def add(
    name: str,
    role: Annotated[UserRole, typer.Option(help="admin or viewer")] = UserRole.VIEWER,
) -> None:
    """Add a user; the password is $SMP_NEW_PASSWORD or generated."""
    runtime = open_runtime()
    password, generated = _password()
    with user_errors(), Session(runtime.engine) as session, session.begin():
        user = create_user(session, name, password, role)
    console.print(f"Added {user.name} ({user.role.value})", highlight=False)
    if generated:
        console.print(f"Password (shown once): [bold]{password}[/]", highlight=False)


@users_app.command("list")
def list_all() -> None:
    """List users."""
    runtime = open_runtime()
    with Session(runtime.engine) as session:
        users = list_users(session)
    table = Table("name", "role", "created")
    for user in users:
        table.add_row(user.name, user.role.value, user.created_at.isoformat())
    console.print(table)


@users_app.command("remove")
def remove(name: str) -> None:
    """Remove a user with their tokens and sessions (never the last admin)."""
    runtime = open_runtime()
    with user_errors(), Session(runtime.engine) as session, session.begin():
        delete_user(session, name)
    console.print(f"Removed {name}", highlight=False)


@users_app.command("password")
def password(name: str) -> None:
    """Set a new password ($SMP_NEW_PASSWORD or generated); ends sessions and tokens."""
    runtime = open_runtime()
    new, generated = _password()
    with user_errors(), Session(runtime.engine) as session, session.begin():
        set_password(session, name, new)
    console.print(
        f"Password of {name} changed; their sessions and API tokens are revoked",
        highlight=False,
    )
    if generated:
        console.print(f"Password (shown once): [bold]{new}[/]", highlight=False)


@users_app.command("token")
def token(
    name: str,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
) -> None:
    """Create an API bearer token for a user; printed once, stored hashed."""
    runtime = open_runtime()
    with user_errors(), Session(runtime.engine) as session, session.begin():
        _, raw = create_api_token(session, name, label)
    typer.echo(raw)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
