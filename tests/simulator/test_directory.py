"""`smp simulator people`: a directory file that agrees with its stated truth.

The file is read back with the csv module and checked against the truth and
the world by the rules of docs/people.md, written out here.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from smp.cli.main import app
from smp.simulator import World, generate_world

WORLD = ["--accounts", "3", "--teammates", "12", "--pending", "3", "--subusers", "4",
         "--months", "1", "--invoices", "1"]  # fmt: skip


def _world(today: str, seed: int) -> World:
    return generate_world(
        seed, accounts=3, teammates=12, pending=3, subusers=4, months=1, invoices=1,
        today=today,
    )  # fmt: skip


def _emit(
    tmp_path: Path, *options: str, seed: int = 5, today: str = "2027-03-01"
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    truth = tmp_path / f"truth-{seed}-{len(options)}.json"
    result = CliRunner().invoke(
        app,
        ["simulator", "people", "--seed", str(seed), "--today", today, *WORLD,
         *options, "--truth", str(truth)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    return rows, json.loads(truth.read_text())


def _claims(rows: list[dict[str, str]]) -> dict[str, list[tuple[dict[str, str], str]]]:
    """Lower-cased e-mail -> the rows that give it, and how (email / alias)."""
    found: dict[str, list[tuple[dict[str, str], str]]] = {}
    for row in rows:
        found.setdefault(row["email"].lower(), []).append((row, "email"))
        for alias in filter(None, row["aliases"].split(";")):
            found.setdefault(alias.lower(), []).append((row, "alias"))
    return found


def test_every_account_of_the_world_has_one_truth(tmp_path: Path) -> None:
    _rows, truth = _emit(tmp_path)
    world = _world("2027-03-01", 5)
    listed = Counter(
        [
            (a.username, "teammate", t["email"])
            for a in world.accounts
            for t in a.teammates
        ]
        + [
            (a.username, "invite", p["email"])
            for a in world.accounts
            for p in a.pending
        ]
        + [(a.username, "subuser", s.email) for a in world.accounts for s in a.subusers]
    )
    assert Counter(
        (a["account"], a["kind"], a["email"]) for a in truth["accounts"]
    ) == (listed)
    assert truth["today"] == "2027-03-01"
    assert truth["seed"] == 5


def test_the_file_says_what_the_truth_says(tmp_path: Path) -> None:
    rows, truth = _emit(tmp_path, "--terminated", "3", "--externals", "4")
    claims = _claims(rows)
    domains = set(truth["company_domains"])
    assert truth["people"] == len(rows)
    # One e-mail is never given to two rows: the import would refuse the file.
    assert all(len(found) == 1 for found in claims.values())
    for account in truth["accounts"]:
        email = account["email"].lower()
        domain = email.rpartition("@")[2]
        found = claims.get(email, [])
        if account["classification"] in ("external", "unknown_internal"):
            assert found == []
            assert (domain in domains) is (
                account["classification"] == "unknown_internal"
            )
            assert account["matched_by"] is None
            continue
        ((row, how),) = found
        assert how == account["matched_by"]
        assert row["email"] == account["person_email"]
        if account["classification"] == "leaver":
            assert row["status"] == "terminated"
            assert row["end_date"] < truth["today"]
        else:
            assert row["type"] == account["classification"]
            assert row["status"] in ("active", "leave")
        if account["kind"] == "subuser":
            assert account["classification"] in ("service", "leaver", "partner")


def test_the_counts_asked_for_and_a_mix_of_everything(tmp_path: Path) -> None:
    rows, truth = _emit(tmp_path, "--terminated", "3", "--externals", "4")
    classes = Counter(a["classification"] for a in truth["accounts"])
    assert classes["external"] == 4
    assert sum(r["status"] == "terminated" for r in rows) == 3
    assert classes["leaver"] == 3
    assert set(classes) == {
        "employee", "contractor", "partner", "service", "leaver",
        "unknown_internal", "external",
    }  # fmt: skip
    assert {a["matched_by"] for a in truth["accounts"]} == {"email", "alias", None}
    assert any(r["status"] == "leave" for r in rows)
    assert any(r["email"] != r["email"].lower() for r in rows)
    # The partner agency (the world's last domain) is not the company's.
    last = _world("2027-03-01", 5).accounts[-1].email.rpartition("@")[2]
    assert last not in truth["company_domains"]


def test_everyone_starts_before_they_end_even_when_many_left(
    tmp_path: Path,
) -> None:
    # The n-th leaver ended 3 + n days ago: many end before the recent
    # start dates the simulator gives (the 163rd, for one).
    rows, _ = _emit(tmp_path, "--teammates", "90", "--terminated", "170")
    ended = [row for row in rows if row["end_date"]]
    assert len(ended) == 170
    assert all(row["start_date"] <= row["end_date"] for row in ended)


def test_the_same_seed_gives_the_same_file_and_another_seed_another(
    tmp_path: Path,
) -> None:
    first = _emit(tmp_path)
    assert _emit(tmp_path) == first
    assert _emit(tmp_path, seed=6) != first


def test_no_externals_keeps_every_domain_the_companys(tmp_path: Path) -> None:
    _rows, truth = _emit(tmp_path, "--externals", "0")
    world = _world("2027-03-01", 5)
    assert truth["company_domains"] == [
        a.email.rpartition("@")[2] for a in world.accounts
    ]
    assert "external" not in {a["classification"] for a in truth["accounts"]}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--accounts", "1"], "--externals: the world has one e-mail domain"),
        (["--terminated", "900"], "--terminated: 900 asked"),
        (["--externals", "900"], "--externals: 900 asked"),
        (["--terminated", "-1"], "must be 0 or more"),
        (["--truth", "/nonexistent-dir/truth.json"], "--truth: cannot write"),
        (["--today", "2027-02-30"], "--today: '2027-02-30' is not a YYYY-MM-DD date"),
    ],
)
def test_impossible_requests_exit_2_with_one_line(
    options: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["simulator", "people", "--months", "1", *options])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
