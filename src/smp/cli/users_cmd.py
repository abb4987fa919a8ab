"""`smp users`: SMP's own users (admin or viewer) and their API tokens.

Passwords come from `$SMP_NEW_PASSWORD` or are generated and printed once;
never from arguments, which shell history and process lists keep.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from smp.cli.opening import console, open_runtime, user_errors
from smp.model.users import UserRole
from smp.services import user_admin
from smp.services.users import generated_password
from smp.storage.users import list_api_tokens, list_users

users_app = typer.Typer(help="SMP users and API tokens.", no_args_is_help=True)


def _password() -> tuple[str, bool]:
    given = os.environ.get("SMP_NEW_PASSWORD", "")
    if given:
        return given, False
    return generated_password(), True


UserName = Annotated[str, typer.Argument(help="The user's login name.")]
TokenId = Annotated[
    int, typer.Argument(help="The token's id (see `smp users tokens`).")
]


@users_app.command("add")
def add(
    name: UserName,
    role: Annotated[UserRole, typer.Option(help="admin or viewer")] = UserRole.VIEWER,
) -> None:
    """Add a user; the password is $SMP_NEW_PASSWORD or generated."""
    runtime = open_runtime()
    password, generated = _password()
    with user_errors():
        user = user_admin.add_user(runtime.engine, name, password, role)
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
def remove(name: UserName) -> None:
    """Remove a user with their tokens and sessions (never the last admin)."""
    runtime = open_runtime()
    with user_errors():
        user_admin.remove_user(runtime.engine, name)
    console.print(f"Removed {name}", highlight=False)


@users_app.command("password")
def password(name: UserName) -> None:
    """Set a new password ($SMP_NEW_PASSWORD or generated); ends sessions and tokens."""
    runtime = open_runtime()
    new, generated = _password()
    with user_errors():
        user_admin.change_password(runtime.engine, name, new)
    console.print(
        f"Password of {name} changed; their sessions and API tokens are revoked",
        highlight=False,
    )
    if generated:
        console.print(f"Password (shown once): [bold]{new}[/]", highlight=False)


@users_app.command("token")
def token(
    name: UserName,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
) -> None:
    """Create an API bearer token for a user; printed once, stored hashed."""
    runtime = open_runtime()
    with user_errors():
        _, raw = user_admin.new_token(runtime.engine, name, label)
    typer.echo(raw)


@users_app.command("role")
def role(
    name: UserName,
    new_role: Annotated[UserRole, typer.Argument(metavar="ROLE", help="admin/viewer")],
) -> None:
    """Change a user's role (the last admin stays an admin)."""
    runtime = open_runtime()
    with user_errors():
        user = user_admin.change_role(runtime.engine, name, new_role)
    console.print(f"{user.name} is now {user.role.value}", highlight=False)


@users_app.command("tokens")
def tokens(name: UserName) -> None:
    """List a user's API tokens (ids and labels; the tokens themselves are not kept)."""
    runtime = open_runtime()
    with user_errors(), Session(runtime.engine) as session:
        found = list_api_tokens(session, name)
    table = Table("id", "label", "created", "last used")
    for item in found:
        last = item.last_used_at.isoformat() if item.last_used_at else "never"
        table.add_row(str(item.id), item.label, item.created_at.isoformat(), last)
    console.print(table)


@users_app.command("revoke")
def revoke(name: UserName, token_id: TokenId) -> None:
    """Revoke one of a user's API tokens by its id (see `smp users tokens`)."""
    runtime = open_runtime()
    with user_errors():
        user_admin.revoke_token(runtime.engine, name, token_id)
    console.print(f"Revoked token {token_id} of {name}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
