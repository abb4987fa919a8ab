"""`smp connect sendgrid` and `smp service-account add|list|remove`."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from smp.cli.confirm import YesFlag, confirm_or_stop
from smp.cli.doctor_cmd import render_report
from smp.cli.endpoint_options import BaseUrlOption, RegionOption
from smp.cli.opening import console, open_runtime, print_json, read_key, user_errors
from smp.model import Integration, ServiceAccount
from smp.model.labels import capability_label, key_kind_label
from smp.sendgrid import KeyReport
from smp.services.key_rules import BillingUnconfirmed, Slot
from smp.services.onboarding import NewKey, add_key, connect, find_key, remove_key
from smp.storage import get_integration, list_service_accounts

connect_app = typer.Typer(help="Connect a SaaS account to SMP.", no_args_is_help=True)
service_accounts_app = typer.Typer(
    help="The API keys (service accounts) of an integration.", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ConfirmFlag = Annotated[
    bool,
    typer.Option(
        "--confirm-billing-account",
        help="Vouch that the billing key belongs to the integration's SendGrid "
        "account (SendGrid cannot tell). Asked on a terminal when not given.",
    ),
]
T = TypeVar("T")


def _who() -> str:
    """Who confirmed a billing key from this command line."""
    try:
        return f"{getpass.getuser()} (command line)"
    except (OSError, KeyError):  # no login name in some containers
        return "someone at the command line"


def _confirming(
    run: Callable[[str | None], Coroutine[Any, Any, T]], confirmed: bool
) -> T:
    """Run `run`; a billing key nobody vouched for is asked about on a terminal."""
    by = _who() if confirmed else None
    with user_errors():
        try:
            return asyncio.run(run(by))
        except BillingUnconfirmed as error:
            if by is not None or not sys.stdin.isatty():
                raise
            if not typer.confirm(error.question, default=False, err=True):
                raise
        return asyncio.run(run(_who()))


def _confirmation_line(integration: Integration) -> str | None:
    if integration.billing_confirmed_by is None:
        return None
    when = integration.billing_confirmed_at
    day = f" on {when:%Y-%m-%d %H:%M} UTC" if when else ""
    return (
        f"The billing key's account was confirmed by "
        f"{integration.billing_confirmed_by}{day}."
    )


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
        str | None,
        typer.Option(
            help="Env var holding the access token with billing permissions "
            "(a Billing Access key)."
        ),
    ] = None,
    billing_key_file: Annotated[
        str | None, typer.Option(help="File holding the billing key.")
    ] = None,
    confirm_billing_account: ConfirmFlag = False,
    base_url: BaseUrlOption = None,
    region: RegionOption = "global",
    as_json: JsonFlag = False,
) -> None:
    """Check the keys, then store them (encrypted) as one integration."""
    keys = [NewKey("access token", read_key(key_env, key_file, "access token"))]
    if billing_key_env or billing_key_file:
        raw = read_key(billing_key_env, billing_key_file, "billing token")
        keys.append(NewKey("billing token", raw, Slot.BILLING))
    runtime = open_runtime()
    integration, stored = _confirming(
        lambda by: connect(
            runtime.engine,
            runtime.box,
            name,
            keys,
            runtime.context,
            region=region,
            base_url=base_url,
            billing_confirmed_by=by,
        ),
        confirm_billing_account,
    )
    if as_json:
        print_json(
            {
                "integration": integration.name,
                "id": integration.id,
                "billing_confirmed_by": integration.billing_confirmed_by,
                "billing_confirmed_at": integration.billing_confirmed_at,
                "service_accounts": [_key_json(sa, r) for sa, r in stored],
            }
        )
        return
    console.print(f"Connected [bold]{integration.name}[/] (id {integration.id}).")
    for _, report in stored:
        render_report(report, console)
    if line := _confirmation_line(integration):
        console.print(line)
    console.print(f"Next: [bold]smp sync {integration.name!r}[/]")


@service_accounts_app.command("add")
def add(
    integration: Annotated[str, typer.Argument(help="Integration name or id.")],
    label: Annotated[str, typer.Option(help="What this key is for.")] = "key",
    key_env: Annotated[
        str | None,
        typer.Option(help="Name of the environment variable holding the key."),
    ] = None,
    key_file: Annotated[
        str | None, typer.Option(help="File holding the key (instead of --key-env).")
    ] = None,
    confirm_billing_account: ConfirmFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Check a key and add it to an integration."""
    raw = read_key(key_env, key_file, label)
    runtime = open_runtime()
    sa, report = _confirming(
        lambda by: add_key(
            runtime.engine,
            runtime.box,
            integration,
            NewKey(label, raw),
            runtime.context,
            billing_confirmed_by=by,
        ),
        confirm_billing_account,
    )
    if as_json:
        print_json(_key_json(sa, report))
        return
    console.print(f"Added {sa.display_key} as service account {sa.id}.")
    render_report(report, console)


@service_accounts_app.command("list")
def list_(
    integration: Annotated[str, typer.Argument(help="Integration name or id.")],
    include_removed: Annotated[
        bool, typer.Option("--all", help="Also list keys that were removed.")
    ] = False,
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
            key_kind_label(sa.kind),
            f"[{colour}]{status}[/]",
            ", ".join(map(capability_label, sa.capabilities)),
            sa.last_error or "",
        )
    console.print(table)
    if line := _confirmation_line(found):
        console.print(line)


@service_accounts_app.command("remove")
def remove(
    integration: Annotated[str, typer.Argument(help="Integration name or id.")],
    key: Annotated[
        str, typer.Argument(help="The key's label, or SG.<key id> as `list` shows.")
    ],
    yes: YesFlag = False,
) -> None:
    """Remove a key. The data it collected is kept and marked as from a removed key."""
    runtime = open_runtime()
    with user_errors():
        found, sa = find_key(runtime.engine, integration, key)
    confirm_or_stop(
        f"Remove key {sa.label!r} ({sa.display_key}) from {found.name!r}? "
        "It stops syncing; what it collected is kept.",
        yes,
    )
    with user_errors():
        remove_key(runtime.engine, sa.id)
    console.print(
        escape(
            f"Removed key {sa.label!r} ({sa.display_key}) from {found.name!r}; "
            "the data it collected is kept."
        ),
        highlight=False,
    )
