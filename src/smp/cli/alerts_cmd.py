"""`smp alerts channel add|list|remove|test`: where findings are sent (docs/alerts.md).

Secrets (a Slack or Teams webhook URL, the generic webhook's URL and HMAC
secret, the SMTP password) come from environment variables, never from the
command line, and are never printed back: a channel shows its host only.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from smp.cli.confirm import YesFlag, confirm_or_stop
from smp.cli.opening import (
    EXIT_BAD_INPUT,
    console,
    errors,
    fail,
    open_runtime,
    print_json,
    read_env,
    user_errors,
    warn,
)
from smp.runtime.alerting import alert_round
from smp.services.alerts import manage
from smp.services.alerts.channels import (
    DEFAULT_SMTP_PORT,
    DEFAULT_TIMEOUT_S,
    ChannelOptions,
)
from smp.services.alerts.delivery import AlertSettingError
from smp.services.alerts.senders import DeliveryFailed

alerts_app = typer.Typer(
    help="Alerts: send findings by e-mail, Slack, Teams or a signed webhook.",
    no_args_is_help=True,
)
channel_app = typer.Typer(
    help="Alert channels: add, list, remove, test.", no_args_is_help=True
)
alerts_app.add_typer(channel_app, name="channel")

NameArg = Annotated[str, typer.Argument(help="The channel's name.")]


@alerts_app.command("send")
def send_now(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run one alert round now: what `smp serve` and the workers do every minute.

    For setups without either (e.g. `smp sync --all` from cron): run it after
    the sync. Exit 1 when a delivery failed (it is retried by a later round)
    or a channel could not be used at all (e.g. its secret cannot be read).
    """
    runtime = open_runtime()
    with user_errors():
        try:
            report = asyncio.run(
                alert_round(runtime.engine, runtime.box, runtime.context.now())
            )
        except AlertSettingError as bad:
            fail(escape(str(bad)), EXIT_BAD_INPUT)
    if as_json:
        print_json(
            {
                "queued": report.queued,
                "sent": report.sent,
                "failed": report.failed,
                "gave_up": report.gave_up,
                "skipped": report.skipped,
                "errors": report.errors,
            }
        )
    else:
        console.print(
            f"Alerts: {report.sent} sent, {report.failed} failed "
            f"({report.gave_up} given up), {report.skipped} no longer open.",
            highlight=False,
        )
        for failure in report.errors:
            warn(failure)
    # `errors` also holds what `failed` does not count: a channel skipped
    # whole because its secret does not decrypt must not look like success.
    if report.failed or report.errors:
        raise typer.Exit(1)


ABOVE = {"high": "high only", "medium": "medium and high", "low": "every severity"}


@channel_app.command("add")
def add(
    name: NameArg,
    kind: Annotated[str, typer.Option(help="email | slack | teams | webhook")],
    min_severity: Annotated[
        str, typer.Option(help="Send findings of this severity and above.")
    ] = "low",
    url_env: Annotated[
        str | None,
        typer.Option(help="Variable holding the webhook URL (slack, teams, webhook)."),
    ] = None,
    secret_env: Annotated[
        str | None,
        typer.Option(
            help="Variable holding the webhook's HMAC secret (default: SMP makes "
            "one and prints it once)."
        ),
    ] = None,
    smtp_host: Annotated[str | None, typer.Option(help="SMTP server (email).")] = None,
    smtp_port: Annotated[int, typer.Option(help="SMTP port.")] = DEFAULT_SMTP_PORT,
    sender: Annotated[str | None, typer.Option("--from", help="From address.")] = None,
    to: Annotated[
        list[str] | None, typer.Option("--to", help="Recipient; repeat for more.")
    ] = None,
    smtp_user: Annotated[str | None, typer.Option(help="SMTP user name.")] = None,
    smtp_password_env: Annotated[
        str | None, typer.Option(help="Variable holding the SMTP password.")
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the server (at most 60).")
    ] = DEFAULT_TIMEOUT_S,
) -> None:
    """Add a channel. Secrets are read from environment variables."""
    options = ChannelOptions(
        kind=kind,
        min_severity=min_severity,
        url=read_env(url_env, "the webhook URL") if url_env else None,
        hmac_secret=read_env(secret_env, "the HMAC secret") if secret_env else None,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        sender=sender,
        recipients=tuple(to or ()),
        smtp_user=smtp_user,
        smtp_password=(
            read_env(smtp_password_env, "the SMTP password")
            if smtp_password_env
            else None
        ),
        timeout_s=timeout,
    )
    runtime = open_runtime()
    with user_errors():
        channel, checked = manage.add_channel(
            runtime.engine,
            runtime.box,
            name,
            options,
            created_by=None,
            now=runtime.context.now(),
        )
    for warning in checked.warnings:
        warn(warning)
    shown = manage.target_of(channel)
    console.print(
        f"Added alert channel {escape(repr(channel.name))}: {channel.kind.value}, "
        f"{escape(shown)}, {ABOVE[channel.min_severity]}.",
        highlight=False,
    )
    if checked.generated_secret:
        errors.print(
            "The webhook's HMAC secret, shown once (docs/alerts.md says how to "
            "check a signature):",
            highlight=False,
            markup=False,
        )
        typer.echo(checked.generated_secret)


def _shown(status: manage.ChannelStatus) -> dict[str, Any]:
    counts = status.deliveries
    return {
        "name": status.channel.name,
        "kind": status.channel.kind.value,
        "min_severity": status.channel.min_severity,
        "target": status.target,
        "created_at": status.channel.created_at.isoformat(),
        "deliveries": {
            "pending": counts.pending,
            "retrying": counts.retrying,
            "sent": counts.sent,
            "skipped": counts.skipped,
            "failed": counts.failed,
            "last_error": counts.last_error,
            "last_sent_at": counts.last_sent_at and counts.last_sent_at.isoformat(),
        },
    }


@channel_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every channel, where it sends, and its deliveries: sent, waiting, failed."""
    runtime = open_runtime()
    with user_errors():
        rows = [_shown(status) for status in manage.channel_statuses(runtime.engine)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(
            "No alert channels yet. Add one: smp alerts channel add NAME --kind …"
        )
        return
    table = Table(title="Alert channels", title_justify="left")
    columns = ("name", "kind", "min severity", "target", "sent", "waiting")
    for column in (*columns, "retrying", "failed", "last error"):
        table.add_column(column)
    for row in rows:
        done = row["deliveries"]
        table.add_row(
            escape(row["name"]),
            row["kind"],
            row["min_severity"],
            escape(row["target"]),
            str(done["sent"]),
            str(done["pending"]),
            str(done["retrying"]),
            str(done["failed"]),
            escape(done["last_error"] or ""),
        )
    console.print(table)


@channel_app.command("remove")
def remove(name: NameArg, yes: YesFlag = False) -> None:
    """Remove a channel and its delivery history, after asking."""
    runtime = open_runtime()
    with user_errors():
        channel = manage.find_channel(runtime.engine, name)
    confirm_or_stop(
        f"Remove alert channel {channel.name!r} and its delivery history?", yes
    )
    with user_errors():
        manage.remove_channel(runtime.engine, channel)
    console.print(
        f"Removed alert channel {escape(repr(channel.name))}.", highlight=False
    )


@channel_app.command("test")
def test(name: NameArg) -> None:
    """Send a test message now; exit 1 with the reason when it does not arrive.

    When it arrives, the channel's deliveries that failed for good are retried
    by the next round.
    """
    runtime = open_runtime()
    with user_errors():
        try:
            channel, again = asyncio.run(
                manage.test_channel(
                    runtime.engine,
                    runtime.box,
                    name,
                    runtime.context.now(),
                    audit_as=None,  # the command line's OS user
                )
            )
        except DeliveryFailed as error:
            fail(f"the test message was not delivered: {escape(str(error))}")
    console.print(
        f"Sent a test message to {escape(repr(channel.name))} "
        f"({escape(manage.target_of(channel))}).",
        highlight=False,
    )
    if again:
        one = again == 1
        them = "it" if one else "them"
        console.print(
            f"{again} failed deliver{'y is' if one else 'ies are'} due again: "
            f"the next alert round (or `smp alerts send`) sends {them}.",
            highlight=False,
        )
