"""`smp sync` output: one line when SendGrid did not answer, a next step for a dead
loopback URL (a stopped demo simulator), names and errors as written."""

from __future__ import annotations

from rich.console import Console

from smp.cli.sync_cmd import summary_table, unreachable_hint
from smp.model import CapabilityResult, Outcome
from smp.sync import SyncReport

LOOPBACK = "http://127.0.0.1:9"


def _report(unanswered: int, other: int = 0, *, ok: int = 1) -> SyncReport:
    """`unanswered` capabilities got no answer, `other` failed another way."""
    report = SyncReport(integration="demo", run_id=1, base_url=LOOPBACK)
    for index in range(ok):
        report.capabilities[f"ok{index}"] = CapabilityResult(Outcome.OK, 1)
    for index in range(unanswered):
        name = f"gone{index}"
        report.capabilities[name] = CapabilityResult(Outcome.FAILED, error="x")
        report.unreachable[name] = "cannot connect to 127.0.0.1: connection refused"
    for index in range(other):
        report.capabilities[f"bad{index}"] = CapabilityResult(
            Outcome.FAILED, error="GET /v3/x: HTTP 503"
        )
    return report


def test_a_stopped_loopback_simulator_gets_a_next_step() -> None:
    hint = unreachable_hint(LOOPBACK, _report(2))
    assert hint is not None
    assert LOOPBACK in hint
    assert "smp demo" in hint


def test_no_hint_for_real_hosts_other_errors_or_success() -> None:
    assert unreachable_hint("https://api.sendgrid.com", _report(2)) is None
    assert unreachable_hint(None, _report(2)) is None
    # One capability failed for another reason: the URL does answer.
    assert unreachable_hint(LOOPBACK, _report(1, 1)) is None
    assert unreachable_hint(LOOPBACK, _report(0)) is None


def test_one_message_names_the_host_and_counts_what_was_not_read() -> None:
    report = _report(6)
    message = report.unreachable_message
    assert message is not None
    assert "127.0.0.1:9" in message
    assert "6 of 7" in message
    assert report.errors == [message]
    assert _report(1, 1).unreachable_message is None
    assert len(_report(1, 1).errors) == 2


def test_names_and_errors_print_as_written_not_as_markup() -> None:
    report = SyncReport(integration="acme [red]eu[/]", run_id=7)
    report.capabilities["members"] = CapabilityResult(
        Outcome.FAILED, error="GET /v3/teammates: HTTP 400: bad [field]"
    )
    console = Console(record=True, width=200)
    console.print(summary_table(report))
    text = console.export_text()
    assert "acme [red]eu[/]: sync run 7" in text
    assert "bad [field]" in text
