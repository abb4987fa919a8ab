"""`smp demo`: the whole product on the embedded defaults, offline.

It serves the built-in SendGrid simulator on loopback, connects one account as
integration `demo` with a full-access key and a billing key, syncs it over real
HTTP, and prints what SMP learned. The data stays in `$SMP_HOME` for the next
commands (`smp members demo`, `smp usage demo`, ...).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from smp.cli.loopback import serve_simulator
from smp.cli.opening import console, open_runtime, user_errors
from smp.cli.sync_cmd import print_report, sync_many
from smp.cli.views import invite_counts, money, render_usage, role_counts
from smp.model import Outcome
from smp.model.labels import capability_label, key_kind_label
from smp.services import read_shapes
from smp.services.key_rules import Slot
from smp.services.onboarding import NewKey, connect
from smp.simulator import Simulator, World, generate_world
from smp.storage import delete_integration, get_integration, list_integrations
from smp.storage import list_service_accounts as stored_keys

DEMO = "demo"


def demo_world(seed: int, today: dt.date | None = None) -> World:
    """The demo's account, as of `today` (default: the clock's UTC date)."""
    return generate_world(
        seed=seed,
        today=today,
        accounts=1,
        teammates=40,
        pending=5,
        subusers=4,
        months=24,
        invoices=12,
    )


def _key(world: World, kind: str) -> str:
    account = world.accounts[0].username
    return next(k.key for k in world.keys if k.account == account and k.kind == kind)


def _summary(session: Session, integration_id: int) -> None:
    members = read_shapes.members(session, integration_id)
    active = [m for m in members if m["status"] == "active"]
    pending = [m for m in members if m["status"] == "pending"]
    console.print(
        f"[bold]Members[/]: {len(active):,} active ({role_counts(members)}), "
        f"{invite_counts(members)}"
    )
    invites = Table(title="Pending invites", title_justify="left")
    invites.add_column("email")
    invites.add_column("expires")
    for invite in pending:
        expires = invite["invite_expires_at"] or ""
        flag = " (expired)" if invite["invite_expired"] else ""
        invites.add_row(invite["email"], expires + flag)
    console.print(invites)
    integration = get_integration(session, integration_id)
    render_usage(integration, read_shapes.usage(session, integration_id))
    bills = Table(title="Latest invoices", title_justify="left")
    for column in ("number", "date", "amount", "status"):
        bills.add_column(column)
    for invoice in read_shapes.invoices(session, integration_id)[:5]:
        bills.add_row(
            invoice["number"] or invoice["id"],
            invoice["date"],
            money(invoice["amount"], invoice["currency"]),
            invoice["status"],
        )
    console.print(bills)
    health = Table(title="Keys", title_justify="left")
    for column in ("key", "kind", "status", "reads"):
        health.add_column(column)
    for sa in stored_keys(session, integration_id):
        health.add_row(
            sa.display_key,
            key_kind_label(sa.kind),
            sa.status.value,
            ", ".join(map(capability_label, sa.capabilities)),
        )
    console.print(health)


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        seed: Annotated[int, typer.Option(help="The simulated world's seed.")] = 1,
    ) -> None:
        """Connect, sync and summarize a simulated SendGrid account, offline."""
        runtime = open_runtime()
        world = demo_world(seed)
        with Session(runtime.engine) as session, session.begin():
            for old in list_integrations(session):
                if old.name == DEMO:  # a fresh demo each time
                    delete_integration(session, old.id)
        with serve_simulator(Simulator(world)) as base_url:
            console.print(f"SendGrid simulator serving on {base_url} (seed {seed})")
            keys = [
                NewKey("access token", _key(world, "full")),
                NewKey("billing token", _key(world, "billing"), Slot.BILLING),
            ]
            with user_errors():
                integration, _ = asyncio.run(
                    connect(
                        runtime.engine,
                        runtime.box,
                        DEMO,
                        keys,
                        runtime.context,
                        base_url=base_url,
                        # The demo made both keys, for one simulated account.
                        billing_confirmed_by="smp demo",
                    )
                )
                (report,) = asyncio.run(
                    sync_many(runtime, [integration.id], [DEMO], show=True)
                )
        assert not isinstance(report, str)  # a fresh integration cannot be locked
        print_report(report)
        with Session(runtime.engine) as session:
            _summary(session, integration.id)
        console.print(
            "Next: [bold]smp members demo[/], [bold]smp usage demo --json[/], "
            "[bold]smp export demo --format xlsx --out exports[/]"
        )
        if report.outcome is Outcome.FAILED:
            raise typer.Exit(1)
