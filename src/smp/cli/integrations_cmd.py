"""`smp integrations list|rename|remove`: the connected accounts, by name."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from smp.cli.confirm import YesFlag, confirm_or_stop
from smp.cli.opening import console, fail, open_runtime, print_json, user_errors
from smp.model import Integration
from smp.storage import (
    LockBusyError,
    get_integration,
    integration_lock,
    list_integrations,
    list_service_accounts,
    list_sync_runs,
)
from smp.storage.accounts import get_identity
from smp.storage.integrations import (
    delete_integration,
    integration_footprint,
    rename_integration,
)

integrations_app = typer.Typer(
    help="The connected SendGrid accounts: list, rename, remove.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="Integration name or id.")]


def _summary(session: Session, integration: Integration) -> dict[str, Any]:
    """What `list --json` prints for one integration; keys by id, never the secret."""
    identity = get_identity(session, integration.id)
    runs = list_sync_runs(session, integration.id, limit=1)
    outcome = None
    if runs:
        outcome = runs[0].outcome.value if runs[0].outcome else "running"
    return {
        "name": integration.name,
        "region": integration.region,
        "account": identity.username if identity else None,
        "keys": [
            {
                "label": sa.label,
                "key_id": sa.key_id,
                "kind": sa.kind.value,
                "status": sa.status.value,
            }
            for sa in list_service_accounts(session, integration.id)
        ],
        "last_sync": integration.last_sync_at,
        "last_outcome": outcome,
    }


@integrations_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every integration with its region, account, keys and last sync."""
    runtime = open_runtime()
    with user_errors(), Session(runtime.engine) as session:
        rows = [_summary(session, i) for i in list_integrations(session)]
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
    with user_errors(), Session(runtime.engine) as session, session.begin():
        found = get_integration(session, old)
        renamed = rename_integration(session, found.id, new)
    console.print(
        f"Renamed {escape(repr(found.name))} to {escape(repr(renamed.name))}.",
        highlight=False,
    )


@integrations_app.command("remove")
def remove(name: NameArg, yes: YesFlag = False) -> None:
    """Delete an integration with its keys and everything synced for it."""
    runtime = open_runtime()
    with user_errors(), Session(runtime.engine) as session:
        found = get_integration(session, name)
        what = integration_footprint(session, found.id).describe()
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
    with user_errors(), Session(runtime.engine) as session, session.begin():
        delete_integration(session, found.id)
    console.print(
        f"Deleted integration {escape(repr(found.name))} and its {what}.",
        highlight=False,
    )
