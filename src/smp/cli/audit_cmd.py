"""`smp audit`, `smp audit verify` and `smp audit export` (docs/audit.md).

`smp audit` lists the trail newest first (the `list` command is the default).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from smp.cli.list_default import ListByDefault
from smp.cli.opening import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    console,
    fail,
    open_runtime,
    print_json,
    user_errors,
)
from smp.cli.views import data_table
from smp.services import audit

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Since = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="Only entries from this UTC date (YYYY-MM-DD) or time (ISO 8601) on.",
    ),
]
Action = Annotated[
    str | None,
    typer.Option(
        "--action", help="Only this action, e.g. login.failed, or a family: user."
    ),
]
COLUMNS = ["id", "occurred_at", "actor", "source", "action", "target", "details"]


audit_app = typer.Typer(
    cls=ListByDefault,
    help="The audit trail: who did what in SMP, from where; verify its hash chain.",
    no_args_is_help=False,
)


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False)


def parse_since(text: str | None) -> dt.datetime | None:
    """A date (its 00:00 UTC) or an ISO time (naive = UTC); exit 2 when neither."""
    if text is None:
        return None
    cleaned = text.strip()
    try:
        if len(cleaned) == len("2027-01-31"):
            day = dt.date.fromisoformat(cleaned)
            return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        fail(
            f"--since must be a date like 2027-01-31 or a time like "
            f"2027-01-31T09:30, not {text!r}",
            EXIT_BAD_INPUT,
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@audit_app.command("list")
def list_entries(
    since: Since = None,
    action: Action = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=100_000, help="At most this many.")
    ] = 100,
    as_json: JsonFlag = False,
) -> None:
    """The newest entries first."""
    start = parse_since(since)
    runtime = open_runtime()
    with user_errors():
        entries, total = audit.list_entries(
            runtime.engine, since=start, action=action, limit=limit
        )
    items = [audit.entry_json(e) for e in entries]
    if as_json:
        print_json(items)
        return
    rows = [
        {
            **item,
            "id": str(item["id"]),
            "occurred_at": f"{entry.occurred_at:%Y-%m-%d %H:%M:%S} UTC",
            "actor": item["actor"] or "SMP",
            "details": ", ".join(f"{k}: {v}" for k, v in item["details"].items()),
        }
        for entry, item in zip(entries, items, strict=True)
    ]
    console.print(data_table("Audit trail", rows, COLUMNS))
    _say(f"{len(rows):,} of {total:,} entr{'y' if total == 1 else 'ies'}")


@audit_app.command("verify")
def verify(as_json: JsonFlag = False) -> None:
    """Check the hash chain: exit 1 naming the first edited or deleted entry."""
    runtime = open_runtime()
    with user_errors():
        report = audit.verify(runtime.engine)
    if as_json:
        broken = report.broken
        print_json(
            {
                "intact": report.intact,
                "entries": report.entries,
                "broken_at": None if broken is None else broken.row_id,
                "reason": None if broken is None else broken.reason,
            }
        )
    elif report.intact:
        _say(audit.verdict(report))
    if not report.intact:
        if as_json:
            raise typer.Exit(EXIT_FAILED)
        fail(audit.verdict(report))


@audit_app.command("export")
def export(
    out: Annotated[
        Path, typer.Option("--out", help="The file to write: .csv or .xlsx.")
    ],
    since: Since = None,
    action: Action = None,
) -> None:
    """Write the trail (oldest first) to a CSV or XLSX file to keep elsewhere."""
    start = parse_since(since)
    if out.suffix.lower() not in audit.EXPORT_SUFFIXES:
        fail("--out must end in .csv or .xlsx", EXIT_BAD_INPUT)
    runtime = open_runtime()
    with user_errors():
        count = audit.export(runtime.engine, out, since=start, action=action)
    _say(f"{count:,} entries written to {out}")
