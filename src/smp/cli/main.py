"""The `smp` command: each sub-command lives in its own module."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from smp.cli import (
    alerts_cmd,
    api_keys_cmd,
    audit_cmd,
    connect_cmd,
    data_cmd,
    demo_cmd,
    doctor_cmd,
    export_cmd,
    findings_cmd,
    integrations_cmd,
    keys_cmd,
    people_cmd,
    reviews_cmd,
    serve_cmd,
    simulator_cmd,
    sync_cmd,
    users_cmd,
    worker_cmd,
)
from smp.cli.key_source import key_in_arguments
from smp.cli.opening import EXIT_BAD_INPUT, errors

app = typer.Typer(
    name="smp",
    help="SMP: SaaS Management Platform. Reads SendGrid accounts, never writes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(connect_cmd.connect_app, name="connect")
app.add_typer(integrations_cmd.integrations_app, name="integrations")
app.add_typer(connect_cmd.service_accounts_app, name="service-account")
app.add_typer(keys_cmd.keys_app, name="keys")
app.add_typer(people_cmd.people_app, name="people")
app.add_typer(simulator_cmd.app, name="simulator")
app.add_typer(alerts_cmd.alerts_app, name="alerts")
app.add_typer(findings_cmd.findings_app, name="findings")
app.add_typer(audit_cmd.audit_app, name="audit")
app.add_typer(reviews_cmd.reviews_app, name="reviews")
demo_cmd.register(app)
doctor_cmd.register(app)
sync_cmd.register(app)
data_cmd.register(app)
api_keys_cmd.register(app)
export_cmd.register(app)
worker_cmd.register(app)
serve_cmd.register(app)
users_cmd.register(app)


def main() -> None:
    # Before any command: one that would say "no integration named SG.…" or
    # "variable SG.… is not set" would print the key.
    refusal = key_in_arguments(sys.argv[1:])
    if refusal:
        errors.print(f"[bold red]error:[/] {escape(refusal)}", highlight=False)
        raise SystemExit(EXIT_BAD_INPUT)
    app()
