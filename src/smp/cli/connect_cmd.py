"""`smp connect sendgrid` and `smp service-account add|list|remove`."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from smp.cli.doctor_cmd import render_report
from smp.cli.runtime import console, open_runtime, print_json, read_key, user_errors
from smp.model import ServiceAccount
from smp.sendgrid import KeyReport
from smp.storage import get_integration, list_service_accounts, remove_service_account
from smp.sync import NewKey, add_key, connect

connect_app = typer.Typer(help="Connect a SaaS account to SMP.", no_args_is_help=True)
service_accounts_app = typer.Typer(
    help="The API keys (service accounts) of an integration.", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _key_json(sa: ServiceAccount, report: KeyReport | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": sa.id,
        "label": sa.label,
        "key": sa.display_key,
        "kind": sa.kind.value,
        "status": sa.status.value,
        "capabilities": list(sa.capabilities),
        "missing": sa.missing,
        "last_sync_at": sa.last_sync_at,
        "last_error": sa.last_error,
        "removed_at": sa.removed_at,
    }
    if report is not None:
        data["fixes"] = report.fixes()
        data["warnings"] = report.warnings
    return data


@connect_app.command("sendgrid")
def connect_sendgrid(
    name: Annotated[str, typer.Argument(help="A name for this SendGrid account.")],
    key_env: Annotated[
        str | None, typer.Option(help="Env var holding the full/restricted key.")
    ] = None,
    key_file: Annotated[str | None, typer.Option(help="File holding that key.")] = None,
    billing_key_env: Annotated[
        str | None, typer.Option(help="Env var holding the Billing Access key.")
    ] = None,
    billing_key_file: Annotated[
        str | None, typer.Option(help="File holding the billing key.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Another API address, e.g. the simulator.")
    ] = None,
    region: Annotated[str, typer.Option(help="global or eu")] = "global",
    as_json: JsonFlag = False,
) -> None:
    """Check the keys, then store them (encrypted) as one integration."""
    keys = [NewKey("access token", read_key(key_env, key_file, "access token"))]
    if billing_key_env or billing_key_file:
        raw = read_key(billing_key_env, billing_key_file, "billing token")
        keys.append(NewKey("billing token", raw))
    runtime = open_runtime()
    with user_errors():
        integration, stored = asyncio.run(
            connect(
                runtime.engine,
                runtime.box,
                name,
                keys,
                runtime.context,
                region=region,
                base_url=base_url,
            )
        )
    if as_json:
        print_json(
            {
                "integration": integration.name,
                "id": integration.id,
                "service_accounts": [_key_json(sa, r) for sa, r in stored],
            }
        )
        return
    console.print(f"Connected [bold]{integration.name}[/] (id {integration.id}).")
    for _, report in stored:
        render_report(report, console)
    console.print(f"Next: [bold]smp sync {integration.name!r}[/]")


@service_accounts_app.command("add")
def add(
    integration: Annotated[str, typer.Argument(help="Integration name or id.")],
    label: Annotated[str, typer.Option(help="What this key is for.")] = "key",
    key_env: Annotated[str | None, typer.Option()] = None,
    key_file: Annotated[str | None, typer.Option()] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a key and add it to an integration."""
    raw = read_key(key_env, key_file, label)
    runtime = open_runtime()
    with user_errors():
        sa, report = asyncio.run(
            add_key(
                runtime.engine,
                runtime.box,
                integration,
                NewKey(label, raw),
                runtime.context,
            )
        )
    if as_json:
        print_json(_key_json(sa, report))
        return
    console.print(f"Added {sa.display_key} as service account {sa.id}.")
    render_report(report, console)


@service_accounts_app.command("list")
def list_(
    integration: Annotated[str, typer.Argument(help="Integration name or id.")],
    include_removed: Annotated[bool, typer.Option("--all")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Keys with their status, capabilities and what they lack."""
    runtime = open_runtime()
    with user_errors(), Session(runtime.engine) as session:
        found = get_integration(session, integration)
        accounts = list_service_accounts(
            session, found.id, include_removed=include_removed
        )
    if as_json:
        print_json([_key_json(sa) for sa in accounts])
        return
    table = Table(title=f"Service accounts of {found.name}", title_justify="left")
    for column in ("id", "label", "key", "kind", "status", "can read", "last error"):
        table.add_column(column)
    for sa in accounts:
        status = sa.status.value if sa.removed_at is None else "removed"
        colour = {"ok": "green", "needs_attention": "yellow"}.get(status, "red")
        table.add_row(
            str(sa.id),
            sa.label,
            sa.display_key,
            sa.kind.value,
            f"[{colour}]{status}[/]",
            ", ".join(sa.capabilities),
            sa.last_error or "",
        )
    console.print(table)


@service_accounts_app.command("remove")
def remove(
    service_account_id: Annotated[int, typer.Argument(help="The id from `list`.")],
) -> None:
    """Remove a key. The data it collected is kept and marked as from a removed key."""
    runtime = open_runtime()
    with user_errors(), Session(runtime.engine) as session, session.begin():
        remove_service_account(session, service_account_id, dt.datetime.now(dt.UTC))
    console.print(f"Removed service account {service_account_id}; its data is kept.")
