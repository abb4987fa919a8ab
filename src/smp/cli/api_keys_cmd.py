"""`smp api-keys NAME [--json]`: the account's API keys and what each may do;
`smp api-keys NAME [KEY_ID] --history [--json]`: how their scopes changed."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy import Engine
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
        key_id: Annotated[
            str | None,
            typer.Argument(help="A key id: its scope history (as --history)."),
        ] = None,
        history: Annotated[
            bool,
            typer.Option(
                "--history", help="Scope changes between syncs, oldest first."
            ),
        ] = False,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON for scripts.")
        ] = False,
    ) -> None:
        """API keys of the account: scopes, full access, write scopes.

        SendGrid gives no creation or last-used date for a key: first_seen and
        last_seen are when SMP's syncs saw it. With --history: each key's
        scopes when SMP first saw it, then what each later sync saw added or
        removed, and when.
        """
        history = history or key_id is not None  # a key's own view is its history
        runtime = open_runtime()
        if history:
            _history(runtime.engine, name, key_id, as_json)
            return
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


def _history(engine: Engine, name: str, key_id: str | None, as_json: bool) -> None:
    with user_errors(), Session(engine) as session:
        integration = get_integration(session, name)
        changes = inventory.key_history(session, integration.id, key_id)
    if as_json:
        print_json(changes)
        return
    if not changes:
        console.print(f"No API key of {integration.name} read yet.", highlight=False)
        return
    console.print(
        data_table(
            f"Scope changes of the API keys of {integration.name}",
            [_change(change) for change in changes],
            ["seen_at", "name", "key_id", "change", "added", "removed"],
        )
    )
    console.print(
        "Times are when a sync of SMP saw the change: SendGrid keeps no history.",
        highlight=False,
    )


def _change(change: dict[str, Any]) -> dict[str, Any]:
    """A first sighting lists all the key's scopes: counted, not listed."""
    first = change["change"] == "first_seen"
    return {
        **change,
        "seen_at": change["seen_at"][:19].replace("T", " "),
        "change": "first seen" if first else "changed",
        "added": plural(len(change["added"]), "scope")
        if first
        else ", ".join(change["added"]) or "—",
        "removed": ", ".join(change["removed"]) or "—",
    }
