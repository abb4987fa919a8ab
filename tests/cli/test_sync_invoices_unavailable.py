"""`smp sync` over loopback HTTP when SendGrid answers invoices with 404 (ADR 3).

The sync runs as its own process, the real `smp sync`: it must exit 0, the
billing key must stay ok, members and usage must equal the world, and the
invoices of the sync before must be kept.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.clikit import as_tuples, expected_members, run
from tests.support.simulator import serve_simulator

from smp.simulator import FaultRule, Simulator, generate_world


def _smp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smp", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        timeout=120,
        check=False,
    )


@pytest.mark.loopback
def test_sync_exits_0_when_sendgrid_gives_no_invoices(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI syncs at the wall clock's date: the world's today is that date.
    today = dt.datetime.now(dt.UTC).date()
    world = generate_world(
        seed=4, accounts=1, teammates=12, pending=2, subusers=2, today=today
    )
    account = world.accounts[0]
    for key in world.keys:
        if key.account == account.username:
            monkeypatch.setenv(f"SG_{key.kind.upper()}", key.key)
    sim = Simulator(world)
    with serve_simulator(sim) as base_url:
        name = "no-invoices"
        keys = ["--key-env", "SG_FULL", "--billing-key-env", "SG_BILLING"]
        keys.append("--confirm-billing-account")
        run("connect", "sendgrid", name, *keys, "--base-url", base_url)
        run("sync", name)
        before = json.loads(run("invoices", name, "--json"))
        assert len(before) == len(account.invoices) > 0
        rule = sim.add_fault(
            FaultRule(kind="status", status=404, path="/v3/billing/invoices")
        )
        synced = _smp("sync", name, "--json")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        shown = _smp("sync", name)
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert rule.fired == 2  # both syncs asked, both got 404
    report = json.loads(synced.stdout)["runs"][0]
    assert report["outcome"] == "ok"
    assert report["key_problems"] == {}
    invoices = report["capabilities"]["invoices"]
    assert invoices["outcome"] == "unavailable"
    assert invoices["error"].startswith("SendGrid did not provide invoices")
    # No e-mail validation key is connected: that one is skipped.
    assert {
        c["outcome"]
        for n, c in report["capabilities"].items()
        if n not in ("invoices", "email_validation")
    } == {"ok"}
    assert "unavailable" in shown.stdout
    assert "Traceback" not in shown.stdout + shown.stderr
    keys = json.loads(run("service-account", "list", name, "--json"))
    assert [(k["kind"], k["status"], k["last_error"]) for k in keys] == [
        ("full", "ok", None),
        ("billing", "ok", None),
    ]
    assert json.loads(run("invoices", name, "--json")) == before
    assert as_tuples(json.loads(run("members", name, "--json"))) == expected_members(
        world
    )
    usage = json.loads(run("usage", name, "--json"))
    assert (usage["credits"]["total"], usage["credits"]["used"]) == (
        account.credits["total"],
        account.credits["used"],
    )
    assert {s["username"] for s in usage["subusers"]} == {
        s.username for s in account.subusers
    }
