"""`smp people import FILE`: the company's directory from a CSV or XLSX file.

Exit codes: 0 imported (with --partial, the valid rows even when others are
in error), 2 when rows are in error without --partial (nothing is imported)
or the file cannot be read at all.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from smp.cli.opening import (
    EXIT_BAD_INPUT,
    console,
    fail,
    open_runtime,
    print_json,
    user_errors,
    warn,
)
from smp.services.people_import import (
    MAX_FILE_BYTES,
    ImportReport,
    import_people,
    too_large,
)

# Errors shown on a terminal; --json lists them all.
SHOWN_ERRORS = 20


def register(app: typer.Typer) -> None:
    """Add this module's commands to `smp people`."""
    app.command("import")(import_file)


def import_file(
    file: Annotated[
        Path,
        typer.Argument(
            help="A CSV or XLSX file, header row first (docs/directory-file.md)."
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            help="Whose directory this is (default: the file's name without "
            "extension). A full import marks the source's people missing "
            "from the file as gone."
        ),
    ] = None,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial", help="Import the valid rows even when others are in error."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Import people from a directory file (CSV or XLSX, header row first)."""
    data = _read(file)
    runtime = open_runtime()
    with user_errors():
        report = import_people(
            runtime.engine,
            data,
            filename=file.name,
            source=source,
            partial=partial,
            now=dt.datetime.now(dt.UTC),
        )
    if report.ignored_columns:
        names = ", ".join(report.ignored_columns)
        warn(f"ignored the columns SMP does not know: {names}")
    if as_json:
        print_json(report.as_json())
    else:
        _show(report)
    if not report.applied:
        raise typer.Exit(EXIT_BAD_INPUT)


def _read(file: Path) -> bytes:
    """The file's bytes; a file too large is refused by its size, unread."""
    shown = escape(str(file))
    try:
        size = file.stat().st_size
        if not file.is_file():
            fail(f"{shown} is not a file", EXIT_BAD_INPUT)
        if size > MAX_FILE_BYTES:
            fail(escape(str(too_large(size))), EXIT_BAD_INPUT)
        return file.read_bytes()
    except FileNotFoundError:
        fail(f"no such file: {shown}", EXIT_BAD_INPUT)
    except OSError as error:
        fail(
            f"cannot read {shown}: {escape(error.strerror or str(error))}",
            EXIT_BAD_INPUT,
        )


def _show(report: ImportReport) -> None:
    if report.applied:
        console.print(
            f"Imported {escape(report.source)}: {report.imported:,} new, "
            f"{report.updated:,} updated, {report.unchanged:,} unchanged, "
            f"{report.gone:,} gone",
            highlight=False,
        )
    errors = report.errors
    if not errors:
        return
    count = len({error.row for error in errors})
    rows = f"{count:,} row{'s' if count > 1 else ''} in error"
    if report.applied:
        headline = f"Left out {rows}:"
    else:
        headline = (
            f"Nothing imported: {rows}. Fix the file, or import the valid rows "
            "with --partial:"
        )
    console.print(headline, highlight=False)
    for error in errors[:SHOWN_ERRORS]:
        console.print(
            f"  row {error.row}, {error.column}: {escape(error.reason)}",
            highlight=False,
        )
    if len(errors) > SHOWN_ERRORS:
        more = len(errors) - SHOWN_ERRORS
        console.print(f"  … and {more:,} more (all of them with --json)")
