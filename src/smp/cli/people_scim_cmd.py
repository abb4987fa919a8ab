"""`smp people scim-token`: the token an identity provider pushes the directory with.

The token is printed once (stdout holds only the token, or the JSON, so a
script can capture it) and stored as a SHA-256 digest. It opens `/scim/v2`
only; docs/scim.md says how to give it to Okta, Entra ID or another client.
"""

from __future__ import annotations

from typing import Annotated

import typer

from smp.cli.opening import errors, open_runtime, print_json, user_errors
from smp.services.scim_tokens import DEFAULT_LABEL, new_scim_token


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


def register(app: typer.Typer) -> None:
    """Add this module's commands to `smp people`."""
    app.command("scim-token")(scim_token)
