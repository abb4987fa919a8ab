"""The core CLI over real loopback HTTP: demo, connect, sync, read-outs, export."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from tests.cli.clikit import as_tuples, expected_members, run
from typer.testing import CliRunner

from smp.cli.demo_cmd import demo_world
from smp.cli.main import app
from smp.simulator import World


@pytest.mark.loopback
def test_demo_then_members_json_equals_the_world(home: Path) -> None:
    output = run("demo")
    assert "Members: 40 active" in output
    members = json.loads(run("members", "demo", "--json"))
    assert as_tuples(members) == expected_members(demo_world(1))
    assert all(m["source"].startswith("SG.") for m in members)


@pytest.mark.loopback
def test_connect_sync_and_read_everything_back(
    served: tuple[World, str], tmp_path: Path
) -> None:
    world, base_url = served
    name = "Acme Ünïcode mail"
    connected = json.loads(
        run(
            "connect",
            "sendgrid",
            name,
            "--key-env",
            "SG_FULL",
            "--billing-key-env",
            "SG_BILLING",
            "--confirm-billing-account",
            "--base-url",
            base_url,
            "--json",
        )
    )
    kinds = [sa["kind"] for sa in connected["service_accounts"]]
    assert kinds == ["full", "billing"]
    synced = json.loads(run("sync", name, "--json"))
    assert synced["runs"][0]["outcome"] == "ok"
    account = world.accounts[0]
    members = json.loads(run("members", name, "--json"))
    assert as_tuples(members) == expected_members(world)
    # SMP's clock is the wall clock here: expired means expired by now.
    now = time.time()
    expired = {p["email"] for p in account.pending if p["expiration_date"] <= now}
    assert {m["email"] for m in members if m["invite_expired"]} == expired
    assert all("last_seen" not in m and m["first_seen"] for m in members)
    table = run("members", name)
    opened = len(account.pending) - len(expired)
    more = f" ({len(expired)} more expired" if expired else ""
    assert f"pending invites: {opened}{more}" in table
    history = json.loads(run("history", name, "--json"))
    assert [(h["kind"], h["members_found"], h["invites_found"]) for h in history] == [
        ("baseline", len(account.teammates), len(account.pending))
    ]
    invoices = json.loads(run("invoices", name, "--json"))
    assert sorted(i["amount"] for i in invoices) == sorted(
        float(i["amount"]) for i in account.invoices
    )
    usage = json.loads(run("usage", name, "--json"))
    assert usage["credits"]["used"] == account.credits["used"]
    assert usage["utilization"] == pytest.approx(
        account.credits["used"] / account.credits["total"]
    )
    assert {s["username"] for s in usage["subusers"]} == {
        s.username for s in account.subusers
    }
    out = tmp_path / "exports"
    run("export", name, "--format", "csv", "--out", str(out))
    with (out / "acme-unicode-mail-members.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["email"] for r in rows} == {m[1] for m in expected_members(world)}
    run("export", name, "--format", "xlsx", "--out", str(out))
    book = load_workbook(out / "acme-unicode-mail.xlsx")
    assert book["invoices"].max_row == len(account.invoices) + 1


@pytest.mark.loopback
def test_bad_keys_and_names_are_refused_cleanly(
    served: tuple[World, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, base_url = served
    monkeypatch.setenv("SG_BROKEN", "SG.not-a-key")
    runner = CliRunner()
    broken = runner.invoke(
        app,
        ["connect", "sendgrid", "x", "--key-env", "SG_BROKEN", "--base-url", base_url],
    )
    assert broken.exit_code == 2
    assert "Traceback" not in broken.output
    revoked = runner.invoke(
        app,
        ["connect", "sendgrid", "x", "--key-env", "SG_REVOKED", "--base-url", base_url],
    )
    assert revoked.exit_code == 2
    assert "revoked" in revoked.output
    run("connect", "sendgrid", "Twice", "--key-env", "SG_FULL", "--base-url", base_url)
    again = runner.invoke(
        app,
        [
            "connect",
            "sendgrid",
            "twice",
            "--key-env",
            "SG_FULL",
            "--base-url",
            base_url,
        ],
    )
    assert again.exit_code == 2
    assert "already exists" in again.output
    listed = json.loads(run("service-account", "list", "Twice", "--json"))
    assert len(listed) == 1
    assert all("SG." in sa["key"] and len(sa["key"]) < 30 for sa in listed)
