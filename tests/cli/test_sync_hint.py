"""`smp sync` explains a dead loopback URL (a stopped demo simulator)."""

from __future__ import annotations

import socket

import pytest

from smp.cli.sync_cmd import unreachable_hint
from smp.model import CapabilityResult, Outcome
from smp.sendgrid import ApiKey, RetryPolicy, SendGridClient, SendGridError
from smp.sync import SyncReport

KEY = "SG." + "k" * 22 + "." + "s" * 43


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _real_connection_error(base_url: str) -> str:
    """The text the client gives when nothing listens, not a copy of it."""
    client = SendGridClient(
        ApiKey.parse(KEY), base_url=base_url, policy=RetryPolicy(max_attempts=1)
    )
    async with client:
        with pytest.raises(SendGridError) as raised:
            await client.user_credits()
    return str(raised.value)


def _report(*errors: str | None) -> SyncReport:
    report = SyncReport(integration="demo", run_id=1)
    report.capabilities["account_identity"] = CapabilityResult(Outcome.OK, 1)
    for index, error in enumerate(errors):
        outcome = Outcome.OK if error is None else Outcome.FAILED
        report.capabilities[f"c{index}"] = CapabilityResult(outcome, error=error)
    return report


@pytest.mark.loopback
async def test_a_stopped_loopback_simulator_gets_a_next_step() -> None:
    base_url = f"http://127.0.0.1:{_closed_port()}"
    refused = await _real_connection_error(base_url)
    hint = unreachable_hint(base_url, _report(refused, refused))
    assert hint is not None
    assert base_url in hint
    assert "smp demo" in hint


async def test_no_hint_for_real_hosts_other_errors_or_success() -> None:
    base_url = f"http://127.0.0.1:{_closed_port()}"
    refused = await _real_connection_error(base_url)
    assert unreachable_hint("https://api.sendgrid.com", _report(refused)) is None
    assert unreachable_hint(None, _report(refused)) is None
    # One capability failed for another reason: the URL does answer.
    assert unreachable_hint(base_url, _report(refused, "GET /v3/x: 503")) is None
    assert unreachable_hint(base_url, _report(None, None)) is None
