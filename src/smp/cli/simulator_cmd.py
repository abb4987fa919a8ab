"""`smp simulator ...`: serve the SendGrid simulator and list its keys."""

from __future__ import annotations

import typer

app = typer.Typer(help="The built-in SendGrid simulator.", no_args_is_help=True)


@app.command("keys")
def keys() -> None:
    """Not built yet."""
    raise typer.Exit(3)
