"""`smp findings`: the issue's JSON shape, filters, accept and snooze from the
command line (recorded as such), and one-line refusals with exit code 2."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.support.finding_rows import EXPECTED, SeededFindings, seed_findings_world
from tests.support.people_cli import use_database
from typer.testing import CliRunner, Result

from smp.cli.main import app
from smp.storage.findings import evaluate_findings

# The CLI's words and shapes; storage runs on both databases in the other modules.
pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

KEYS = [
    "id",
    "integration",
    "rule",
    "severity",
    "status",
    "title",
    "subject",
    "first_seen",
    "resolved_at",
    "evidence",
]


def smp(*args: str) -> Result:
    return CliRunner().invoke(app, ["findings", *args], catch_exceptions=False)


@pytest.fixture
def on_the_database(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Engine:
    use_database(engine, tmp_path, monkeypatch)
    return engine


@pytest.fixture
def seeded(on_the_database: Engine) -> tuple[SeededFindings, dt.datetime]:
    engine = on_the_database
    now = dt.datetime.now(dt.UTC)
    world = seed_findings_world(engine, now)
    evaluate_findings(engine, now=now, integration_ids=[world.integration_id])
    return world, now


def listed(*args: str) -> list[dict[str, object]]:
    result = smp(*args, "--json")
    assert result.exit_code == 0, result.output
    found: list[dict[str, object]] = json.loads(result.output)
    return found


def test_json_shape_and_filters(seeded: tuple[SeededFindings, dt.datetime]) -> None:
    world, now = seeded
    every = listed(world.name)
    assert Counter(f["rule"] for f in every) == Counter(rule for rule, _ in EXPECTED)
    assert all(list(f) == KEYS for f in every)
    bob = next(f for f in every if f["subject"] == "bob@acme.test")
    assert bob == {
        "id": bob["id"],
        "integration": world.name,
        "rule": "leaver_with_access",
        "severity": "high",
        "status": "open",
        "title": "Leaver still has access: bob@acme.test",
        "subject": "bob@acme.test",
        "first_seen": now.isoformat(),
        "resolved_at": None,
        "evidence": {
            "kind": "teammate",
            "email": "bob@acme.test",
            "role": "user",
            "classification": "leaver",
            "leaver_since": now.isoformat(),
        },
    }
    assert isinstance(bob["id"], int)
    # Most severe first.
    order = {"high": 0, "medium": 1, "low": 2}
    ranks = [order[str(f["severity"])] for f in every]
    assert ranks == sorted(ranks)
    low = listed(world.name, "--severity", "low")
    assert sorted(str(f["subject"]) for f in low) == [
        "edge@acme.test",
        "idle",
        "old@acme.test",
    ]
    two = listed(world.name, "--severity", "low", "--severity", "medium")
    assert len(two) == 5
    assert listed(world.name, "--status", "resolved") == []
    assert [f["subject"] for f in listed(world.name, "--rule", "external_invite")] == [
        "inv@evil.test"
    ]


def test_accept_and_snooze_from_the_command_line(
    seeded: tuple[SeededFindings, dt.datetime],
) -> None:
    world, now = seeded
    every = {f["subject"]: f["id"] for f in listed(world.name)}
    bob, eve = str(every["bob@acme.test"]), str(every["eve@evil.test"])

    done = smp("accept", bob, "--reason", "leaves Friday")
    assert done.exit_code == 0, done.output
    assert (
        done.output
        == f"Finding {bob} accepted: Leaver still has access: bob@acme.test\n"
    )
    until = (now + dt.timedelta(days=3)).date().isoformat()
    done = smp("snooze", eve, "--reason", "audit next week", "--until", until)
    assert done.exit_code == 0, done.output
    assert [f["subject"] for f in listed(world.name, "--status", "accepted")] == [
        "bob@acme.test"
    ]
    assert [f["subject"] for f in listed(world.name, "--status", "snoozed")] == [
        "eve@evil.test"
    ]
    shown = json.loads(smp("show", eve, "--json").output)
    assert [(e["kind"], e["actor"], e["reason"]) for e in shown["events"]] == [
        ("opened", None, None),
        ("snoozed", "command line", "audit next week"),
    ]
    assert shown["events"][1]["snoozed_until"] == f"{until}T00:00:00+00:00"
    assert shown["fix"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["accept", "999999999", "--reason", "x"], "error: no finding 999999999"),
        (["accept", "abc", "--reason", "x"], "error: no finding 'abc'"),
        (["nosuch", "--json"], "error: no integration 'nosuch'"),
        (
            ["snooze", "1", "--reason", "x", "--until", "31/01/2027"],
            "error: --until must be a date like 2027-01-31, not '31/01/2027'",
        ),
        (
            ["threshold", "idle_subuser", "days", "0"],
            "error: idle_subuser.days must be from 1 to 3650 days, not 0",
        ),
        (
            ["threshold", "idle_subuser", "days"],
            "error: give a VALUE, or --clear to remove one",
        ),
    ],
)
@pytest.mark.usefixtures("on_the_database")
def test_refusals_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["findings", *args])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in result.output


def test_reason_is_required(seeded: tuple[SeededFindings, dt.datetime]) -> None:
    world, _ = seeded
    some = str(listed(world.name)[0]["id"])
    missing = CliRunner().invoke(app, ["findings", "accept", some])
    assert missing.exit_code == 2
    assert "--reason" in missing.output
    blank = CliRunner().invoke(app, ["findings", "accept", some, "--reason", " "])
    assert blank.exit_code == 2
    assert blank.stderr.strip() == "error: a reason is required: say why"


def test_table_and_show_for_people(seeded: tuple[SeededFindings, dt.datetime]) -> None:
    world, now = seeded
    bob = next(f for f in listed(world.name) if f["subject"] == "bob@acme.test")
    table = smp(world.name, "--rule", "leaver_with_access")
    assert table.exit_code == 0, table.output
    assert "Leaver still has access: bob@acme.test" in table.output
    assert table.output.rstrip().endswith("2 findings")
    assert smp("accept", str(bob["id"]), "--reason", "leaves Friday").exit_code == 0
    shown = smp("show", str(bob["id"]))
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == f"Finding {bob['id']} · {world.name} · high · accepted"
    assert "  1. In SendGrid, open Settings → Teammates." in lines
    assert "  email: bob@acme.test" in lines
    assert lines[-2] == f"  {now:%Y-%m-%d %H:%M} UTC opened by SMP"
    assert lines[-1].endswith(" accepted by command line — leaves Friday")
