"""`smp api-keys NAME [--json]`: the account's API keys and what each may do."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from smp.cli.opening import console, errors, open_runtime, print_json, user_errors
from smp.cli.views import data_table
from smp.model.labels import plural
from smp.services import api_keys as inventory
from smp.storage import get_integration


def register(app: typer.Typer) -> None:
    @app.command("api-keys")
    def api_keys(
        name: Annotated[str, typer.Argument(help="Integration name or id.")],
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON for scripts.")
        ] = False,
    ) -> None:
        """API keys of the account: scopes, full access, write scopes.

        SendGrid gives no creation or last-used date for a key: first_seen and
        last_seen are when SMP's syncs saw it.
        """
        runtime = open_runtime()
        with user_errors(), Session(runtime.engine) as session:
            integration = get_integration(session, name)
            rows = inventory.api_keys(session, integration.id)
            problem = inventory.unreadable_message(session, integration.id)
        if as_json:
            print_json(rows)
        if problem:
            (errors if as_json else console).print(f"[yellow]{problem}[/]")
        if as_json:
            return
        console.print(
            data_table(
                f"API keys of {integration.name}",
                [_shown(row) for row in rows],
                ["name", "key_id", "scopes", "full_access", "write_scopes", "seen"],
            )
        )
        console.print(inventory.DATES_NOTE, highlight=False)


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    """Counts rather than lists: a full key has some 200 scopes."""
    return {
        **row,
        "scopes": plural(len(row["scopes"]), "scope"),
        "full_access": "yes" if row["full_access"] else "no",
        "write_scopes": plural(len(row["write_scopes"]), "write scope"),
        "seen": f"{row['first_seen'][:10]} to {row['last_seen'][:10]}",
    }
