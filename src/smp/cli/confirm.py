"""Asking before a change that cannot be undone: `--yes`, or a terminal's "y"."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from smp.cli.runtime import EXIT_BAD_INPUT, fail

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
            "this cannot be undone, and there is no terminal to ask on; "
            "add --yes to confirm",
            EXIT_BAD_INPUT,
        )
    if not typer.confirm(question, default=False, err=True):
        typer.echo("Nothing changed.", err=True)
        raise typer.Exit(1)
