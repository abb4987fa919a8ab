"""`smp usage` and `smp subusers` over real loopback HTTP: ended periods, the
volume trend's parts and whole, and what the key cannot read.

The CLI reads the real clock, so worlds are built on today's date (read when
the test runs) and an ended period is one SendGrid's answer closed before now.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.clikit import run
from tests.support.simulator import serve_simulator
from tests.support.usage import monthly_requests
from typer.testing import CliRunner

from smp.cli.main import app
from smp.simulator import Simulator, World, generate_world

pytestmark = pytest.mark.loopback


def flat(text: str) -> str:
    """Rich wraps long lines at the terminal's width and draws cell borders."""
    return " ".join(text.replace("│", " ").split())


@pytest.fixture
def served(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, str]]:
    today = dt.datetime.now(dt.UTC).date()
    world = generate_world(
        seed=4, accounts=1, teammates=6, pending=1, subusers=2, months=3, today=today
    )
    # The period SendGrid answered with ended at the start of this month:
    # read before the reset, shown after it.
    this_month = today.replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    world.accounts[0].credits.update(
        last_reset=last_month.isoformat(), next_reset=this_month.isoformat()
    )
    for key in world.keys:
        if key.account == world.accounts[0].username:
            monkeypatch.setenv(f"SG_{key.kind.upper()}", key.key)
    with serve_simulator(Simulator(world)) as base_url:
        yield world, base_url


def connect(base_url: str, name: str, env: str) -> None:
    run("connect", "sendgrid", name, "--key-env", env, "--base-url", base_url)
    run("sync", name)


def test_an_ended_period_and_the_volume_trend(served: tuple[World, str]) -> None:
    world, base_url = served
    connect(base_url, "Ended", "SG_FULL")
    account = world.accounts[0]
    usage = json.loads(run("usage", "Ended", "--json"))
    assert usage["period_ended"] is True
    assert usage["forecast_used_at_reset"] is None
    assert usage["credits"]["next_reset"] == account.credits["next_reset"]
    parent = monthly_requests(account.daily_stats)
    subs = [monthly_requests(s.daily_stats) for s in account.subusers]
    trend = usage["volume_trend"]
    first = min(m for series in [parent, *subs] for m, n in series.items() if n)
    assert trend["months"][0] == first
    assert trend["parent_own"] == [parent.get(m, 0) for m in trend["months"]]
    assert trend["whole_account"] == [
        parent.get(m, 0) + sum(s.get(m, 0) for s in subs) for m in trend["months"]
    ]
    assert usage["unreadable"] == []
    shown = flat(run("usage", "Ended"))
    assert "This period has ended" in shown
    assert "forecast at reset" not in shown
    last = trend["months"][-1]
    assert (
        f"{last} {parent[last]:,} {trend['subusers_sum'][-1]:,} "
        f"{trend['whole_account'][-1]:,}"
    ) in shown
    assert "parent's own" in shown
    assert "whole account" in shown


def test_what_the_key_cannot_read_is_said_with_its_scope(
    served: tuple[World, str],
) -> None:
    _, base_url = served
    connect(base_url, "Restricted", "SG_RESTRICTED")
    subusers = CliRunner().invoke(app, ["subusers", "Restricted"])
    assert subusers.exit_code == 0, subusers.output
    assert "This key cannot read subusers: add subusers.read" in flat(subusers.output)
    assert "No subusers" not in subusers.output
    assert "Subusers of" not in subusers.output  # no empty table
    as_json = CliRunner().invoke(app, ["subusers", "Restricted", "--json"])
    assert json.loads(as_json.stdout) == []
    assert "add subusers.read" in flat(as_json.stderr)
    usage = json.loads(run("usage", "Restricted", "--json"))
    assert [(u["data"], u["missing_scopes"]) for u in usage["unreadable"]] == [
        ("volume", ["stats.read"]),
        ("subuser_volume", ["stats.read", "subusers.stats.read"]),
    ]
    assert usage["volume_trend"]["whole_account"] is None
    shown = flat(run("usage", "Restricted"))
    assert "This key cannot read e-mail volume: add stats.read" in shown
    assert "Monthly sent volume" not in shown
    invoices = flat(run("invoices", "Restricted"))
    assert "connect a key with Billing Access (billing.read)" in invoices
