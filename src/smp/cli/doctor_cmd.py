"""`smp doctor`: what can SMP read with this SendGrid key?

The key comes only from an environment variable (`--key-env`) or a file
(`--key-file`): arguments leak into shell history and process lists.

Exit codes: 0 valid key; 2 malformed, invalid or revoked key, or no key where
it was said to be; 1 SendGrid unreachable or answering wrongly.

Test seam: `transport_factory()` returns the httpx transport to use (None =
the real network); tests monkeypatch it to return an `httpx.MockTransport`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from smp.cli.endpoint_options import BaseUrlOption, RegionOption
from smp.cli.key_source import KeySourceError, raw_key
from smp.model.labels import capability_label, key_kind_label
from smp.sendgrid import (
    ApiKey,
    AuthenticationError,
    KeyReport,
    MalformedKeyError,
    RetryPolicy,
    SendGridClient,
    SendGridError,
    diagnose,
)
from smp.sendgrid.capabilities import kind_purpose, read_only_key_advice

EXIT_OK = 0
EXIT_UNREACHABLE = 1
EXIT_BAD_KEY = 2

# A person is waiting: give up on an unreachable SendGrid within seconds.
DOCTOR_POLICY = RetryPolicy(max_attempts=3, deadline_s=20.0, request_timeout_s=10.0)


def transport_factory() -> httpx.AsyncBaseTransport | None:
    """The transport for doctor's client; None means the real network."""
    return None


class _Failure(Exception):
    def __init__(self, exit_code: int, message: str, key_id: str | None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.key_id = key_id


def _read_key(key_env: str | None, key_file: Path | None) -> ApiKey:
    if (key_env is None) == (key_file is None):
        raise typer.BadParameter("give exactly one of --key-env or --key-file")
    try:
        raw = raw_key(key_env, key_file, "--key-env" if key_env else "--key-file")
    except KeySourceError as exc:
        # Not the key's fault: no "malformed key" for a variable that is not set.
        raise _Failure(EXIT_BAD_KEY, str(exc), None) from None
    return ApiKey.parse(raw)


async def _diagnose(key: ApiKey, region: str, base_url: str | None) -> KeyReport:
    client = SendGridClient(
        key,
        region=region,
        base_url=base_url,
        transport=transport_factory(),
        policy=DOCTOR_POLICY,
    )
    async with client:
        return await diagnose(client)


def _run(
    key_env: str | None, key_file: Path | None, region: str, base_url: str | None
) -> KeyReport:
    try:
        key = _read_key(key_env, key_file)
    except MalformedKeyError as exc:
        raise _Failure(EXIT_BAD_KEY, f"malformed key: {exc}", None) from None
    try:
        return asyncio.run(_diagnose(key, region, base_url))
    except AuthenticationError as exc:
        message = f"SendGrid refused the key {key}: {exc}"
        raise _Failure(EXIT_BAD_KEY, message, key.key_id) from None
    except (SendGridError, ValueError) as exc:
        raise _Failure(EXIT_UNREACHABLE, str(exc), key.key_id) from None


def _failure_report(failure: _Failure) -> KeyReport:
    # Unreachable means we cannot tell whether the key is valid: null, not false.
    valid = False if failure.exit_code == EXIT_BAD_KEY else None
    return KeyReport(valid=valid, key_id=failure.key_id, warnings=[str(failure)])


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def render_report(report: KeyReport, console: Console) -> None:
    key = f"SG.{report.key_id}…" if report.key_id else "(unreadable key)"
    kind = key_kind_label(report.kind)
    title = f"{key}  kind: {kind}  account: {report.account or '?'}"
    if report.key_name:
        title += f"  name: {report.key_name}"
    table = Table(title=title, title_justify="left")
    table.add_column("Data")
    table.add_column("Can read")
    table.add_column("Missing scope")
    table.add_column("Fix")
    fixes = report.fixes()
    for name, available in report.capabilities.items():
        # A single-purpose key (billing) is not told to add what it cannot hold.
        if not available and name not in report.missing:
            continue
        table.add_row(
            capability_label(name),
            "[green]yes[/]" if available else "[red]no[/]",
            ", ".join(report.missing.get(name, [])),
            _sentence_case(fixes.get(name, "")),
        )
    console.print(table)
    if purpose := kind_purpose(report.kind):
        console.print(purpose, soft_wrap=True)
    for warning in report.warnings:
        console.print(f"[yellow]Warning:[/] {warning}", soft_wrap=True)
    if report.write_scopes:
        console.print(read_only_key_advice(report.kind), soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(
        key_env: Annotated[
            str | None,
            typer.Option(help="Name of the environment variable holding the key."),
        ] = None,
        key_file: Annotated[
            Path | None, typer.Option(help="File holding the key (first line).")
        ] = None,
        base_url: BaseUrlOption = None,
        region: RegionOption = "global",
        as_json: Annotated[
            bool, typer.Option("--json", help="Print one JSON object.")
        ] = False,
    ) -> None:
        """Check a SendGrid key: its kind, and what SMP can read with it."""
        console = Console(soft_wrap=False)
        try:
            report = _run(key_env, key_file, region, base_url)
            code = EXIT_OK
        except _Failure as failure:
            report, code = _failure_report(failure), failure.exit_code
        if as_json:
            typer.echo(json.dumps(report.to_json()))
        elif code == EXIT_OK:
            render_report(report, console)
        else:
            Console(stderr=True).print(f"[red]error:[/] {report.warnings[0]}")
        raise typer.Exit(code)
