"""`smp findings [NAME]`, and `smp findings accept|snooze|show|threshold|evaluate`.

`smp findings NAME` lists (the `list` command is the default: a first word
that names no command is the integration). The CLI has no SMP users: its
decisions are recorded as made from the "command line". docs/findings.md
has the rules and the lifecycle.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from smp.cli.list_default import ListByDefault
from smp.cli.opening import (
    EXIT_BAD_INPUT,
    console,
    fail,
    open_runtime,
    print_json,
    user_errors,
)
from smp.cli.views import data_table
from smp.model.findings import FindingStatus, Severity
from smp.services import findings
from smp.services.findings import COMMAND_LINE, FindingDetail

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
IdArg = Annotated[str, typer.Argument(help="The finding's id (from `smp findings`).")]
Reason = Annotated[
    str, typer.Option("--reason", help="Why: kept with the finding's history.")
]
COLUMNS = ["id", "integration", "severity", "status", "title", "first_seen"]


findings_app = typer.Typer(
    cls=ListByDefault,
    help="What needs action in each integration: list findings, accept or snooze them.",
    no_args_is_help=False,
)


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False)


def _day(moment: dt.datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


@findings_app.command("list")
def list_findings(
    name: Annotated[
        str | None, typer.Argument(help="Only this integration (name or id).")
    ] = None,
    severity: Annotated[
        list[Severity] | None,
        typer.Option(help="Only this severity; repeat for several."),
    ] = None,
    status: Annotated[
        FindingStatus | None, typer.Option(help="Only findings with this status.")
    ] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule's (its id).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Findings, most severe first (every status unless --status)."""
    runtime = open_runtime()
    with user_errors():
        page = findings.list_findings(
            runtime.engine,
            integration=name,
            severities=severity or (),
            status=status,
            rule=rule,
        )
    if as_json:
        print_json([findings.finding_json(f) for f in page.items])
        return
    rows = [
        {**findings.finding_json(f), "id": str(f.id), "first_seen": _day(f.first_seen)}
        for f in page.items
    ]
    console.print(data_table("Findings", rows, COLUMNS))
    _say(f"{page.total:,} finding{'' if page.total == 1 else 's'}")


def _detail_json(detail: FindingDetail) -> dict[str, Any]:
    rule = detail.rule
    return {
        **findings.finding_json(detail.finding),
        "episode": detail.finding.episode,
        "explanation": None if rule is None else rule.explanation,
        "fix": [] if rule is None else list(rule.fix),
        "events": [findings.event_json(e) for e in detail.events],
    }


def _show(detail: FindingDetail) -> None:
    f = detail.finding
    _say(f"Finding {f.id} · {f.integration} · {f.severity} · {f.status}")
    _say(f.title)
    if detail.rule is not None:
        _say(detail.rule.explanation)
        _say("Fix in SendGrid:")
        for number, step in enumerate(detail.rule.fix, 1):
            _say(f"  {number}. {step}")
    _say("Evidence:")
    for key, value in f.evidence.items():
        _say(f"  {key}: {value}")
    _say("History:")
    for event in detail.events:
        who = event.actor or "SMP"
        why = f" — {event.reason}" if event.reason else ""
        until = f" until {_day(event.snoozed_until)}" if event.snoozed_until else ""
        _say(f"  {_day(event.occurred_at)} {event.kind}{until} by {who}{why}")


@findings_app.command("show")
def show(finding_id: IdArg, as_json: JsonFlag = False) -> None:
    """One finding: evidence, how to fix it, and its history."""
    runtime = open_runtime()
    with user_errors():
        detail = findings.finding_detail(runtime.engine, finding_id)
    if as_json:
        print_json(_detail_json(detail))
        return
    _show(detail)


@findings_app.command("accept")
def accept(finding_id: IdArg, reason: Reason) -> None:
    """Accept a finding while its condition holds (it resolves when it ends)."""
    runtime = open_runtime()
    with user_errors():
        detail = findings.accept_finding(
            runtime.engine,
            finding_id,
            reason=reason,
            actor=COMMAND_LINE,
            now=runtime.context.now(),
        )
    _say(f"Finding {detail.finding.id} accepted: {detail.finding.title}")


@findings_app.command("snooze")
def snooze(
    finding_id: IdArg,
    reason: Reason,
    until: Annotated[
        str,
        typer.Option(
            "--until", help="A future date, YYYY-MM-DD: it opens again from 00:00 UTC."
        ),
    ],
) -> None:
    """Snooze a finding until a date; it opens again then if its condition holds."""
    try:
        day = dt.date.fromisoformat(until.strip())
    except ValueError:
        fail(f"--until must be a date like 2027-01-31, not {until!r}", EXIT_BAD_INPUT)
    runtime = open_runtime()
    with user_errors():
        detail = findings.snooze_finding(
            runtime.engine,
            finding_id,
            reason=reason,
            until=day,
            actor=COMMAND_LINE,
            now=runtime.context.now(),
        )
    finding = detail.finding
    _say(f"Finding {finding.id} snoozed until {day.isoformat()}: {finding.title}")


@findings_app.command("thresholds")
def thresholds(as_json: JsonFlag = False) -> None:
    """Every rule's thresholds: built-in default, global value, overrides."""
    runtime = open_runtime()
    with user_errors():
        views = findings.list_thresholds(runtime.engine)
    rows: list[dict[str, Any]] = [
        {
            "rule": v.rule,
            "name": v.threshold.name,
            "unit": v.threshold.unit,
            "range": f"{v.threshold.minimum}–{v.threshold.maximum}",
            "default": v.threshold.default,
            "global": v.global_value,
            "overrides": v.overrides,
        }
        for v in views
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        row["overrides"] = ", ".join(f"{k}: {n}" for k, n in row["overrides"].items())
        row["range"] = str(row["range"])
    columns = ["rule", "name", "unit", "range", "default", "global", "overrides"]
    console.print(data_table("Thresholds", rows, columns))


@findings_app.command("threshold")
def threshold(
    rule: Annotated[str, typer.Argument(help="The rule's id, e.g. too_many_admins.")],
    name: Annotated[
        str, typer.Argument(help="The threshold's name, e.g. share_percent.")
    ],
    value: Annotated[
        int | None, typer.Argument(help="The new value (leave out with --clear).")
    ] = None,
    integration: Annotated[
        str | None,
        typer.Option(help="Only for this integration (name or id); else global."),
    ] = None,
    clear: Annotated[
        bool,
        typer.Option("--clear", help="Remove the value: the next one down applies."),
    ] = False,
) -> None:
    """Set a threshold globally or for one integration (next evaluation on)."""
    if (value is None) != clear:
        fail("give a VALUE, or --clear to remove one", EXIT_BAD_INPUT)
    runtime = open_runtime()
    with user_errors():
        findings.set_threshold(
            runtime.engine,
            rule=rule,
            name=name,
            value=value,
            integration=integration,
            actor=COMMAND_LINE,
            now=runtime.context.now(),
        )
    where = f"for {integration}" if integration else "globally"
    done = "cleared" if clear else f"set to {value}"
    _say(f"{rule}.{name} {done} {where}; it applies from the next evaluation.")


@findings_app.command("evaluate")
def evaluate(
    name: Annotated[
        str | None, typer.Argument(help="Only this integration (name or id).")
    ] = None,
) -> None:
    """Evaluate the rules now, without a sync (e.g. after changing thresholds)."""
    runtime = open_runtime()
    with user_errors():
        ids = None if name is None else [findings.integration_id(runtime.engine, name)]
        done = findings.evaluate_findings(
            runtime.engine, now=runtime.context.now(), integration_ids=ids
        )
    _say(
        f"{done.integrations} integration(s): {done.opened} opened, "
        f"{done.reopened} reopened, {done.resolved} resolved, "
        f"{done.unsnoozed} unsnoozed"
    )
