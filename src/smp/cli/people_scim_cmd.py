"""`smp people scim-token|scim-tokens|scim-revoke`: the identity provider's tokens.

The token is printed once (stdout holds only the token, or the JSON, so a
script can capture it) and stored as a SHA-256 digest. It opens `/scim/v2`
only; docs/scim.md says how to give it to Okta, Entra ID or another client.
A leaked token is revoked by its id (`smp people scim-tokens` lists them).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from smp.cli.opening import console, errors, open_runtime, print_json, user_errors
from smp.services.scim_tokens import (
    DEFAULT_LABEL,
    new_scim_token,
    revoke,
    scim_tokens,
)


def scim_token(
    label: Annotated[
        str, typer.Option(help="Which identity provider holds the token.")
    ] = DEFAULT_LABEL,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {id, label, token, created_at}.")
    ] = False,
) -> None:
    """Create a SCIM bearer token for /scim/v2; printed once, stored hashed."""
    runtime = open_runtime()
    with user_errors():
        record, raw = new_scim_token(
            runtime.engine, label, created_by=None, now=runtime.context.now()
        )
    if as_json:
        print_json(
            {
                "id": record.id,
                "label": record.label,
                "token": raw,
                "created_at": record.created_at.isoformat(),
            }
        )
        return
    typer.echo(raw)
    errors.print(
        "Shown once. Give it to the identity provider as the bearer token of "
        "https://<this server>/scim/v2 (see docs/scim.md).",
        highlight=False,
        markup=False,
    )


def list_tokens(
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print [{id, label, created_at, last_used_at}]."),
    ] = False,
) -> None:
    """List the SCIM tokens (ids and labels; the tokens themselves are not kept)."""
    runtime = open_runtime()
    with user_errors():
        found = scim_tokens(runtime.engine)
    if as_json:
        print_json(
            [
                {
                    "id": t.id,
                    "label": t.label,
                    "created_at": t.created_at.isoformat(),
                    "last_used_at": t.last_used_at and t.last_used_at.isoformat(),
                }
                for t in found
            ]
        )
        return
    table = Table("id", "label", "created", "last used")
    for item in found:
        last = item.last_used_at.isoformat() if item.last_used_at else "never"
        table.add_row(str(item.id), item.label, item.created_at.isoformat(), last)
    console.print(table)


def revoke_token(
    token_id: Annotated[
        int, typer.Argument(help="The token's id (see `smp people scim-tokens`).")
    ],
) -> None:
    """Revoke a SCIM token: the provider holding it gets 401 from then on."""
    runtime = open_runtime()
    with user_errors():
        revoke(runtime.engine, token_id)
    console.print(f"Revoked SCIM token {token_id}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to `smp people`."""
    app.command("scim-token")(scim_token)
    app.command("scim-tokens")(list_tokens)
    app.command("scim-revoke")(revoke_token)
