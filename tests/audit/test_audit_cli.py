"""`smp audit`, `smp audit verify` and `smp audit export` on both databases:
the acceptance — an edited or deleted row fails verify at that row."""

from __future__ import annotations

import csv
import getpass
import json
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, delete, text
from tests.support.people_cli import use_database
from typer.testing import CliRunner, Result

from smp.cli.main import app
from smp.model.audit import GENESIS_HASH
from smp.storage import session_factory
from smp.storage.tables import AuditEventRow, AuditHeadRow

KEYS = ["id", "occurred_at", "actor", "source", "action", "target", "details"]


def smp(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def trail(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """Four users added from the CLI: four entries (ids 1-4) in a fresh trail."""
    use_database(engine, tmp_path, monkeypatch)
    with session_factory(engine).begin() as session:
        session.execute(delete(AuditEventRow))
        session.execute(delete(AuditHeadRow))  # a test below deletes it
        session.add(AuditHeadRow(id=1, last_id=0, last_hash=GENESIS_HASH))
    monkeypatch.setenv("SMP_NEW_PASSWORD", "correct horse battery staple 9")
    for number in range(4):
        result = smp("users", "add", f"audited-{tmp_path.name[-6:]}-{number}")
        assert result.exit_code == 0, result.output
    return engine


def test_users_added_from_the_cli_are_listed_newest_first(trail: Engine) -> None:
    result = smp("audit", "--json")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    assert [list(e) for e in entries] == [KEYS] * 4
    assert [e["id"] for e in entries] == [4, 3, 2, 1]
    newest = entries[0]
    assert newest["action"] == "user.add"
    assert newest["actor"] == f"cli:{getpass.getuser()}"
    assert newest["source"] == "cli"
    assert newest["target"].endswith("-3")
    assert newest["details"] == {"role": "viewer"}


def test_filters_by_action_family_and_since(trail: Engine) -> None:
    assert len(json.loads(smp("audit", "--action", "user", "--json").output)) == 4
    assert json.loads(smp("audit", "--action", "login", "--json").output) == []
    later = json.loads(smp("audit", "--since", "2999-01-01", "--json").output)
    assert later == []
    bad = smp("audit", "--since", "last tuesday")
    assert bad.exit_code == 2
    assert "--since" in bad.output


def test_an_untouched_trail_verifies(trail: Engine) -> None:
    result = smp("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "4 entries, chain intact" in result.output


@pytest.mark.parametrize(
    ("change", "row", "why"),
    [
        (
            'UPDATE audit_events SET details = \'{"role": "admin"}\' WHERE id = 2',
            2,
            "edited",
        ),
        ("UPDATE audit_events SET actor = 'mallory' WHERE id = 3", 3, "edited"),
        ("DELETE FROM audit_events WHERE id = 2", 3, "entry 2"),
        ("DELETE FROM audit_events WHERE id = 4", 4, "deleted"),
    ],
)
def test_a_changed_row_fails_verify_at_that_row(
    trail: Engine, change: str, row: int, why: str
) -> None:
    with trail.begin() as connection:
        connection.execute(text(change))
    result = smp("audit", "verify")
    assert result.exit_code == 1
    assert f"breaks at entry {row}:" in result.output
    assert why in result.output
    shown = json.loads(smp("audit", "verify", "--json").output)
    assert (shown["intact"], shown["broken_at"]) == (False, row)


def test_a_deleted_head_row_fails_verify_and_smp_keeps_recording(
    trail: Engine, tmp_path: Path
) -> None:
    with trail.begin() as connection:
        connection.execute(text("DELETE FROM audit_head"))
    missing = smp("audit", "verify")
    assert missing.exit_code == 1
    assert "breaks at entry 4: the head row (audit_head) is missing" in missing.output
    added = smp("users", "add", f"after-head-{tmp_path.name[-6:]}")
    assert added.exit_code == 0, added.output
    entries = json.loads(smp("audit", "--json").output)
    assert [(e["id"], e["action"], e["actor"]) for e in entries[:2]] == [
        (6, "user.add", f"cli:{getpass.getuser()}"),
        (5, "audit.head_recreated", None),
    ]
    again = smp("audit", "verify")
    assert again.exit_code == 1
    assert "breaks at entry 5: the head row (audit_head) had been deleted" in (
        again.output
    )


def test_export_to_csv_and_xlsx(trail: Engine, tmp_path: Path) -> None:
    out = tmp_path / "trail.csv"
    result = smp("audit", "export", "--out", str(out))
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"]
    assert json.loads(rows[0]["details"]) == {"role": "viewer"}
    book = tmp_path / "trail.xlsx"
    assert smp("audit", "export", "--out", str(book)).exit_code == 0
    workbook = openpyxl.load_workbook(book, read_only=True)
    sheet = workbook.active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    workbook.close()
    assert list(values[0]) == KEYS
    assert len(values) == 5
    refused = smp("audit", "export", "--out", str(tmp_path / "trail.txt"))
    assert refused.exit_code == 2
