"""`smp sync NAME|--all`: progress per integration, a summary, useful exit codes.

Exit codes: 0 everything synced (invoices SendGrid did not provide count as
synced); 1 some capability failed (its old data is kept); 2 bad input
(unknown integration); 3 another sync still held the lock after `--wait`
seconds. Syncs of one integration started together (CLI, API,
scheduler) thus run one after another instead of failing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from urllib.parse import urlsplit

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy.orm import Session

from smp.cli.opening import (
    EXIT_BAD_INPUT,
    Runtime,
    console,
    fail,
    open_runtime,
    print_json,
    user_errors,
    whole_line,
)
from smp.model import Outcome
from smp.services.audit import cli_actor
from smp.storage import LockBusyError, get_integration, list_integrations
from smp.sync import COLLECTED, SyncReport, run_sync, writer_for
from smp.sync.gc_tuning import tune_for_sync

EXIT_LOCKED = 3
# How long a sync waits by default for another sync of the same integration.
DEFAULT_LOCK_WAIT_S = 600.0
_ORDER: dict[str, int] = {name: i for i, name in enumerate(COLLECTED)}
_COLOURS = {
    Outcome.OK: "green",
    Outcome.FAILED: "red",
    Outcome.SKIPPED: "dim",
    Outcome.UNAVAILABLE: "blue",
}


async def sync_many(
    runtime: Runtime, ids: list[int], names: list[str], *, show: bool
) -> list[SyncReport | str]:
    """Sync integrations concurrently; a lock conflict is returned as text.

    How many run at once is the engine's business (`smp.sync.gate`).
    """
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        # The count is of kinds of data (members, invoices, …), said as such:
        # a bare "7/7" beside "subusers" read as seven subusers.
        TextColumn("{task.completed}/{task.total} kinds of data"),
        TextColumn("{task.fields[last]}"),
        console=console,
        disable=not show,
        transient=False,
    ) as bars:

        async def one(iid: int, name: str) -> SyncReport | str:
            # Until the first kind of data: the lock may be held by another sync.
            task = bars.add_task(escape(name), total=len(COLLECTED), last="starting…")

            def progress(capability: str, outcome: Outcome | None) -> None:
                if outcome is None:
                    bars.update(task, last=f"{capability}…")
                    return
                colour = _COLOURS[outcome]
                bars.update(task, advance=1, last=f"[{colour}]{capability}[/]")

            try:
                return await run_sync(
                    runtime.engine,
                    runtime.box,
                    iid,
                    runtime.context,
                    progress=progress,
                    started_by=cli_actor().name,
                )
            except LockBusyError as error:
                # Nothing was read: no bar stuck at 0/7, the reason is printed.
                bars.remove_task(task)
                return f"{name}: {error}"

        return await asyncio.gather(
            *(one(i, n) for i, n in zip(ids, names, strict=True))
        )


def unreachable_hint(base_url: str | None, report: SyncReport) -> str | None:
    """A next step when nothing answered at a loopback URL: a stopped simulator.

    `smp demo` stores its simulator's address, and that simulator stops with it.
    """
    host = urlsplit(base_url or "").hostname
    if report.unreachable_message is None:
        return None
    if host not in {"127.0.0.1", "localhost", "::1"}:
        return None
    return (
        f"{report.integration} reads from {base_url}, and nothing answers there: "
        "if it is a simulator that `smp demo` or `smp simulator serve` started, "
        "it has stopped. Run `smp demo` again for fresh demo data; the stored "
        "data is kept."
    )


def summary_table(report: SyncReport) -> Table:
    table = Table(
        title=whole_line(f"{report.integration}: sync run {report.run_id}"),
        title_justify="left",
    )
    for column in ("capability", "outcome", "records", "detail"):
        table.add_column(column)
    ordered = sorted(report.capabilities.items(), key=lambda i: _ORDER[i[0]])
    for name, result in ordered:
        colour = _COLOURS[result.outcome]
        table.add_row(
            name,
            f"[{colour}]{result.outcome.value}[/]",
            f"{result.count:,}",
            escape(result.error or ""),  # SendGrid's words, not markup
        )
    return table


def traffic(report: SyncReport) -> str:
    """A line under the table, not its caption: a caption wraps at its width."""
    return (
        f"{report.requests:,} requests, {report.retries:,} retries, "
        f"{report.rate_limit_waits:,} rate-limit waits, "
        f"{report.events:,} member events"
    )


@contextmanager
def _quiet_engine() -> Iterator[None]:
    """Only the engine's errors on stderr while the command runs."""
    logger = logging.getLogger("smp.sync")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def print_report(report: SyncReport) -> None:
    """The run's table, or one line when SendGrid did not answer at all: then
    every kind of data failed alike, and a table would repeat it per row."""
    message = report.unreachable_message
    if message is None:
        console.print(summary_table(report))
        console.print(traffic(report), highlight=False)
        return
    console.print(
        f"[bold]{escape(report.integration)}[/] (sync run {report.run_id}): "
        f"[red]failed[/]: {escape(message)}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    @app.command("sync")
    def sync(
        name: Annotated[
            str | None, typer.Argument(help="Integration name or id.")
        ] = None,
        all_: Annotated[
            bool, typer.Option("--all", help="Sync every integration.")
        ] = False,
        as_json: Annotated[
            bool,
            typer.Option("--json", help="Print the runs as JSON, without progress."),
        ] = False,
        wait: Annotated[
            float,
            typer.Option(
                min=0.0,
                help="Seconds to wait while another sync of the integration runs.",
            ),
        ] = DEFAULT_LOCK_WAIT_S,
    ) -> None:
        """Read members, usage and invoices from SendGrid into SMP."""
        if name is not None and all_:
            fail("give an integration name or --all, not both", EXIT_BAD_INPUT)
        if name is None and not all_:
            fail("give an integration name or --all", EXIT_BAD_INPUT)
        runtime = open_runtime()
        runtime.context.lock_timeout_s = wait
        with user_errors(), Session(runtime.engine) as session:
            found = (
                list_integrations(session)
                if all_
                else [get_integration(session, name or "")]
            )
        tune_for_sync()
        # user_errors: e.g. a master key that cannot decrypt the keys. The
        # report printed below holds every failure; the engine's log lines
        # would repeat them on stderr.
        with _quiet_engine(), user_errors():
            runtime.context.writer = writer_for(runtime.engine, len(found))
            try:
                results = asyncio.run(
                    sync_many(
                        runtime,
                        [i.id for i in found],
                        [i.name for i in found],
                        show=not as_json,
                    )
                )
            finally:
                runtime.context.writer.close()
        reports = [r for r in results if isinstance(r, SyncReport)]
        locked = [r for r in results if isinstance(r, str)]
        if as_json:
            print_json({"runs": [r.to_json() for r in reports], "locked": locked})
        else:
            urls = {i.name: i.base_url for i in found}
            for report in reports:
                print_report(report)
                hint = unreachable_hint(urls.get(report.integration), report)
                if hint:
                    console.print(f"[yellow]hint:[/] {hint}")
            for message in locked:
                console.print(f"[yellow]skipped:[/] {message}")
        if locked:
            raise typer.Exit(EXIT_LOCKED)
        if any(r.outcome is Outcome.FAILED for r in reports):
            raise typer.Exit(1)
