"""`smp people list|show|accounts` on SQLite and PostgreSQL: tables, --json, refusals.

The directory is written straight into the tables (tests/support/people_rows.py);
every expected value is the seed's.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.support.people_cli import people as smp
from tests.support.people_cli import use_database
from tests.support.people_rows import (
    ACCOUNT_KEYS,
    PERSON_KEYS,
    Seeded,
    seed_directory,
)

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def seeded(engine: Engine) -> Seeded:
    return seed_directory(engine, NOW)


@pytest.fixture
def cli(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_database(engine, tmp_path, monkeypatch)


def ok_json(*args: str) -> object:
    result = smp(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.usefixtures("cli")
def test_list_prints_the_issues_shape_by_email(seeded: Seeded) -> None:
    listed = ok_json("list")
    assert isinstance(listed, list)
    assert [list(p) for p in listed] == [PERSON_KEYS] * 5
    assert [p["email"] for p in listed] == [
        "Ada.Lovelace@acme.test",
        "bob@acme.test",
        "gus@acme.test",
        "lea@partner.test",
        "zoe@acme.test",
    ]
    assert listed[0] == {
        "id": seeded.people["ada"],
        "email": "Ada.Lovelace@acme.test",
        "employee_id": "E-1001",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "department": "Engineering",
        "manager_email": "boss@acme.test",
        "status": "active",
        "type": "employee",
        "aliases": ["ada@old.test"],
        "source": "hr",
    }
    gone = ok_json("list", "--status", "gone")
    assert gone == [
        {**dict.fromkeys(PERSON_KEYS), "id": seeded.people["gus"],
         "email": "gus@acme.test", "status": "gone", "type": "employee",
         "aliases": [], "source": "old"}
    ]  # fmt: skip


@pytest.mark.usefixtures("cli")
def test_list_table_and_search(seeded: Seeded) -> None:
    shown = smp("list", "--search", "ÅNGSTRÖM")
    assert shown.exit_code == 0, shown.output
    assert "zoe@acme.test" in shown.output
    assert "Zoë Ångström" in shown.output
    assert "contractor" in shown.output
    assert "bob@acme.test" not in shown.output
    assert "1 person" in shown.output
    assert str(seeded.people["zoe"]) in shown.output


@pytest.mark.usefixtures("cli", "seeded")
def test_an_unknown_status_or_classification_names_the_allowed_ones() -> None:
    bad = smp("list", "--status", "fired")
    assert bad.exit_code == 2
    for allowed in ("active", "terminated", "leave", "gone"):
        assert allowed in bad.output
    worse = smp("accounts", "--classification", "former")
    assert worse.exit_code == 2
    for allowed in ("leaver", "unknown_internal", "external", "ambiguous"):
        assert allowed in worse.output


@pytest.mark.usefixtures("cli")
def test_accounts_filtered_by_classification_and_integration(seeded: Seeded) -> None:
    leavers = ok_json("accounts", "--classification", "leaver")
    assert isinstance(leavers, list)
    assert [list(a) for a in leavers] == [ACCOUNT_KEYS] * 2
    assert sorted((a["integration"], a["kind"], a["matched_by"]) for a in leavers) == [
        (seeded.integration, "teammate", "email"),
        (seeded.other_integration, "invite", "manual"),
    ]
    assert {(a["person_id"], a["person_status"]) for a in leavers} == {
        (seeded.people["bob"], "terminated")
    }
    other = ok_json("accounts", "--integration", seeded.other_integration)
    assert isinstance(other, list)
    assert sorted(a["classification"] for a in other) == ["ambiguous", "leaver"]
    everyone = ok_json("accounts")
    assert isinstance(everyone, list)
    assert len(everyone) == 7  # the removed ones are history, shown by `show`
    table = smp("accounts", "--classification", "external")
    assert table.exit_code == 0, table.output
    assert "ext@gmail.test" in table.output
    assert "1 account" in table.output
    for unknown in ("No such one", "99999999999"):
        missing = smp("accounts", "--integration", unknown)
        assert missing.exit_code == 2
        assert missing.output.count("\n") == 1
        assert unknown in missing.output


@pytest.mark.usefixtures("cli")
def test_show_a_person_by_id_or_email_with_removed_accounts(seeded: Seeded) -> None:
    shown = ok_json("show", "GUS@acme.test")
    assert isinstance(shown, dict)
    assert list(shown)[:11] == PERSON_KEYS
    assert shown["id"] == seeded.people["gus"]
    accounts = shown["accounts"]
    assert sorted(a["offboarding_lag_s"] for a in accounts) == [3_600, 10_000, 86_400]
    assert {(a["present"], a["status"], a["classification"]) for a in accounts} == {
        (False, "removed", "leaver")
    }
    assert all(a["removed_at"] == NOW.isoformat() for a in accounts)
    table = smp("show", str(seeded.people["bob"]))
    assert table.exit_code == 0, table.output
    assert "Bob Stone <bob@acme.test>" in table.output
    assert seeded.other_integration in table.output
    assert "E-3003" in table.output
    lags = smp("show", "gus@acme.test")
    assert f"gus@acme.test, person {seeded.people['gus']}" in lags.output
    for shown_lag in ("1.0 h", "2.8 h", "24.0 h"):
        assert shown_lag in lags.output


@pytest.mark.usefixtures("cli", "seeded")
@pytest.mark.parametrize("asked", ["nobody@acme.test", "424242"])
def test_show_an_unknown_person_is_one_line_and_exit_2(asked: str) -> None:
    result = smp("show", asked)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert asked in result.output


@pytest.mark.usefixtures("cli", "seeded")
def test_piped_tables_keep_long_values_whole() -> None:
    # CliRunner is not a terminal: no value is cut or wrapped.
    result = smp("list")
    assert "│ Ada.Lovelace@acme.test │" in result.output
