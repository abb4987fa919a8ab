"""The `smp` command: each sub-command lives in its own module."""

from __future__ import annotations

import typer

from smp.cli import demo_cmd, doctor_cmd, simulator_cmd

app = typer.Typer(
    name="smp",
    help="SMP: SaaS Management Platform. Reads SendGrid accounts, never writes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(simulator_cmd.app, name="simulator")
demo_cmd.register(app)
doctor_cmd.register(app)


def main() -> None:
    app()
