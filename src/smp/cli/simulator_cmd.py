"""`smp simulator ...`: serve the SendGrid simulator and list its keys."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from smp.simulator import (
    FaultRule,
    FaultSpecError,
    Simulator,
    World,
    WorldError,
    generate_world,
    load_world,
    parse_fault_spec,
)
from smp.simulator.world import INVOICE_FORMATS

app = typer.Typer(help="The built-in SendGrid simulator.", no_args_is_help=True)

SeedOpt = Annotated[int, typer.Option(help="World seed (same seed, same world).")]
WorldOpt = Annotated[
    Path | None, typer.Option("--world", help="Load the world from a JSON file.")
]
AccountsOpt = Annotated[int, typer.Option(help="Number of SendGrid accounts.")]
TeammatesOpt = Annotated[int, typer.Option(help="Teammates per account (owner incl.).")]
PendingOpt = Annotated[int, typer.Option(help="Pending invites per account.")]
SubusersOpt = Annotated[int, typer.Option(help="Subusers per paid account.")]
MonthsOpt = Annotated[int, typer.Option(help="Months of daily stats history.")]
InvoicesOpt = Annotated[int, typer.Option(help="Invoices per account.")]
TodayOpt = Annotated[
    str | None,
    typer.Option(
        "--today",
        help="Pin the simulated date (YYYY-MM-DD); default: today's UTC date, "
        "following the clock.",
    ),
]
InvoiceFormatOpt = Annotated[
    str | None,
    typer.Option(help=f"Invoice body variant: {', '.join(INVOICE_FORMATS)}."),
]


def build_world(
    seed: int,
    world_file: Path | None,
    accounts: int,
    teammates: int,
    pending: int,
    subusers: int,
    months: int,
    invoices: int,
    invoice_format: str | None = None,
    today: dt.date | None = None,
) -> World:
    """The world `serve` and `keys` agree on; exits 2 with the field on errors."""
    try:
        if world_file is not None:
            world = load_world(world_file)
        else:
            world = generate_world(
                seed,
                accounts=accounts,
                teammates=teammates,
                pending=pending,
                subusers=subusers,
                months=months,
                invoices=invoices,
                today=today,
            )
        if invoice_format is not None:
            if invoice_format not in INVOICE_FORMATS:
                raise WorldError(f"invoice_format: unknown value {invoice_format!r}")
            world = world.model_copy(update={"invoice_format": invoice_format})
    except WorldError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    return world


def pinned_date(value: str | None) -> dt.date | None:
    """`--today`'s date, or exit 2 with a one-line error."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        typer.echo(f"error: --today: {value!r} is not a YYYY-MM-DD date", err=True)
        raise typer.Exit(2) from None


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8025,
    seed: SeedOpt = 1,
    world_file: WorldOpt = None,
    accounts: AccountsOpt = 2,
    teammates: TeammatesOpt = 30,
    pending: PendingOpt = 3,
    subusers: SubusersOpt = 3,
    months: MonthsOpt = 6,
    invoices: InvoicesOpt = 6,
    invoice_format: InvoiceFormatOpt = None,
    today: TodayOpt = None,
    rate_limit: Annotated[
        int, typer.Option(help="Requests per key and endpoint per window; 0 = off.")
    ] = 600,
    rate_window: Annotated[float, typer.Option(help="Window in seconds.")] = 60.0,
    latency_ms: Annotated[float, typer.Option(help="Added latency.")] = 0.0,
    jitter_ms: Annotated[float, typer.Option(help="Random extra latency.")] = 0.0,
    fault: Annotated[
        list[str] | None,
        typer.Option(help='Repeatable, e.g. "kind=status,status=503,probability=0.1".'),
    ] = None,
    fault_seed: Annotated[int | None, typer.Option(help="Seed for faults.")] = None,
) -> None:
    """Serve the simulated SendGrid v3 API over HTTP."""
    import uvicorn

    day = pinned_date(today)
    world = build_world(
        seed, world_file, accounts, teammates, pending, subusers, months, invoices,
        invoice_format, day,
    )  # fmt: skip
    sim = Simulator(
        world, rate_limit=rate_limit or None, rate_window_s=rate_window,
        fault_seed=fault_seed, today=day,
    )  # fmt: skip
    try:
        if latency_ms or jitter_ms:
            sim.add_fault(
                FaultRule(kind="latency", latency_ms=latency_ms, jitter_ms=jitter_ms)
            )
        for spec in fault or []:
            sim.add_fault(parse_fault_spec(spec))
    except FaultSpecError as error:
        typer.echo(f"error: --fault: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"SendGrid simulator on http://{host}:{port} "
        f"({len(world.accounts)} accounts, {len(world.keys)} keys, "
        f"date {sim.today().isoformat()}{'' if day else ', following the clock'}); "
        "`smp simulator keys` lists the keys."
    )
    uvicorn.run(sim.app, host=host, port=port, log_level="warning", access_log=False)


@app.command("keys")
def keys(
    seed: SeedOpt = 1,
    world_file: WorldOpt = None,
    accounts: AccountsOpt = 2,
    teammates: TeammatesOpt = 30,
    pending: PendingOpt = 3,
    subusers: SubusersOpt = 3,
    months: MonthsOpt = 6,
    invoices: InvoicesOpt = 6,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the API keys of the world that `serve` with the same options serves.

    These are simulator keys, printed in full on purpose so clients can use them.
    """
    world = build_world(
        seed, world_file, accounts, teammates, pending, subusers, months, invoices
    )
    rows = [{"account": k.account, "kind": k.kind, "key": k.key} for k in world.keys]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        typer.echo(f"{row['account']:<20} {row['kind']:<11} {row['key']}")


@app.command("people")
def people(
    seed: SeedOpt = 1,
    world_file: WorldOpt = None,
    accounts: AccountsOpt = 2,
    teammates: TeammatesOpt = 30,
    pending: PendingOpt = 3,
    subusers: SubusersOpt = 3,
    months: MonthsOpt = 6,
    invoices: InvoicesOpt = 6,
    today: TodayOpt = None,
    terminated: Annotated[
        int, typer.Option(help="People terminated while their accounts remain.")
    ] = 2,
    externals: Annotated[
        int, typer.Option(help="Accounts on a non-company domain with no person.")
    ] = 2,
    truth: Annotated[
        Path | None,
        typer.Option(help="Write each account's expected classification (JSON)."),
    ] = None,
) -> None:
    """Print an employee directory (CSV) matching the world `serve` serves."""
    from smp.simulator.directory import DirectoryError, directory

    world = build_world(
        seed, world_file, accounts, teammates, pending, subusers, months, invoices,
        today=pinned_date(today),
    )  # fmt: skip
    try:
        text, expected = directory(
            world, seed=seed, terminated=terminated, externals=externals
        )
    except DirectoryError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    if truth is not None:
        try:
            truth.write_text(json.dumps(expected.to_json(), indent=1) + "\n")
        except OSError as error:
            typer.echo(
                f"error: --truth: cannot write {truth}: {error.strerror}", err=True
            )
            raise typer.Exit(2) from None
    typer.echo(text, nl=False)
