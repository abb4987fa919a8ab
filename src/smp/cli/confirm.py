"""Asking before a removal: `--yes`, or a "y" typed on a terminal."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from smp.cli.opening import EXIT_BAD_INPUT, fail

YesFlag = Annotated[
    bool, typer.Option("--yes", "-y", help="Do it without asking for confirmation.")
]


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def confirm_or_stop(question: str, yes: bool) -> None:
    """Go on with --yes or a "y" on a terminal; stop (exit 2) with no terminal."""
    if yes:
        return
    if not stdin_is_terminal():
        fail(
            "nothing was removed: there is no terminal to confirm on; "
            "add --yes to remove without asking",
            EXIT_BAD_INPUT,
        )
    if not typer.confirm(question, default=False, err=True):
        typer.echo("Nothing changed.", err=True)
        raise typer.Exit(1)
