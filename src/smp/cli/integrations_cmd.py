"""`smp integrations list|rename|remove`: the connected accounts, by name."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from smp.cli.confirm import YesFlag, confirm_or_stop
from smp.cli.opening import console, fail, open_runtime, print_json, user_errors
from smp.services import integrations
from smp.storage import LockBusyError, integration_lock

integrations_app = typer.Typer(
    help="The connected SendGrid accounts: list, rename, remove.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="Integration name or id.")]


@integrations_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every integration with its region, account, keys and last sync."""
    runtime = open_runtime()
    with user_errors():
        rows = [asdict(summary) for summary in integrations.summaries(runtime.engine)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No integrations yet. Connect one: smp connect sendgrid NAME")
        return
    table = Table(title="Integrations", title_justify="left")
    for column in ("name", "region", "account", "keys", "last sync", "outcome"):
        table.add_column(column)
    for row in rows:
        keys = "\n".join(
            f"{k['label']}: SG.{k['key_id']}… {k['kind']}, {k['status']}"
            for k in row["keys"]
        )
        last = row["last_sync"]
        table.add_row(
            escape(row["name"]),
            row["region"],
            escape(row["account"] or "not read yet"),
            escape(keys) or "none",
            f"{last:%Y-%m-%d %H:%M} UTC" if last else "never",
            row["last_outcome"] or "",
        )
    console.print(table)


@integrations_app.command("rename")
def rename(old: NameArg, new: Annotated[str, typer.Argument(help="New name.")]) -> None:
    """Give an integration another name; its data and keys stay."""
    runtime = open_runtime()
    with user_errors():
        found = integrations.find(runtime.engine, old)
        renamed = integrations.rename(runtime.engine, found.id, new)
    console.print(
        f"Renamed {escape(repr(found.name))} to {escape(repr(renamed.name))}.",
        highlight=False,
    )


@integrations_app.command("remove")
def remove(name: NameArg, yes: YesFlag = False) -> None:
    """Delete an integration with its keys and everything synced for it."""
    runtime = open_runtime()
    with user_errors():
        found = integrations.find(runtime.engine, name)
        what = integrations.footprint(runtime.engine, found.id)
    confirm_or_stop(
        f"Delete integration {found.name!r} and its {what}? This cannot be undone.",
        yes,
    )
    try:
        # Not while a sync writes to it: wait for the sync to end instead.
        with integration_lock(runtime.engine, found.id):
            pass
    except LockBusyError:
        fail(
            f"{escape(repr(found.name))} is being synced; try again when the sync ends"
        )
    with user_errors():
        integrations.delete(runtime.engine, found.id)
    console.print(
        f"Deleted integration {escape(repr(found.name))} and its {what}.",
        highlight=False,
    )
