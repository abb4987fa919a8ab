"""`smp doctor` on a full key prints the exact `POST /v3/api_keys` body of a
read-only key; a key made with that body (in the simulator's world) reads
every capability an access key can hold, the API keys and teammate scopes
included, and writes nothing."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from smp.cli import doctor_cmd
from smp.cli.main import app
from smp.simulator import SimKey, Simulator, generate_world

# What SMP reads with its access key, written out: the doctor must ask for
# exactly these (billing and validation need keys of their own).
READ_ONLY_BODY = {
    "name": "smp-read-only",
    "scopes": [
        "access_settings.activity.read",
        "access_settings.whitelist.read",
        "api_keys.read",
        "sso.settings.read",
        "stats.read",
        "subusers.credits.read",
        "subusers.read",
        "subusers.stats.monthly.read",
        "subusers.stats.read",
        "teammates.read",
        "user.account.read",
        "user.credits.read",
        "user.username.read",
    ],
}
KEY_ID = "ReadOnlyKeyForSmpTest0"


def _doctor(key: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("SMP_TEST_SG_KEY", key)
    result = CliRunner().invoke(app, ["doctor", "--key-env", "SMP_TEST_SG_KEY", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_printed_body_makes_a_key_that_reads_everything_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = generate_world(seed=6, accounts=1, teammates=3, pending=0, subusers=1)
    account = world.accounts[0].username
    full = next(k for k in world.keys if k.kind == "full")
    made = SimKey(
        account=account,
        kind="restricted",
        key=f"SG.{KEY_ID}.{'r' * 43}",
        key_id=KEY_ID,
        name=READ_ONLY_BODY["name"],
        scopes=list(READ_ONLY_BODY["scopes"]),
    )
    world.keys.append(made)
    monkeypatch.setattr(doctor_cmd, "transport_factory", Simulator(world).transport)

    shown = _doctor(full.key, monkeypatch)
    (line,) = [x for x in shown.splitlines() if "POST /v3/api_keys " in x]
    assert json.loads(line.split("POST /v3/api_keys ", 1)[1]) == READ_ONLY_BODY
    flat = " ".join(shown.replace("│", " ").split())
    assert "API keys yes" in flat
    assert "Teammate permissions yes" in flat

    report = json.loads(_doctor(made.key, monkeypatch, "--json"))
    assert report["write_scopes"] == []
    assert report["warnings"] == []
    lacking = {name for name, ok in report["capabilities"].items() if not ok}
    assert lacking == {"invoices", "email_validation"}
