"""`smp people domains|link|unlink` on SQLite and PostgreSQL: each change shows
in `smp people accounts` at once, and bad input is one line and exit 2.

SendGrid members and people are written into the tables
(tests/support/people_rows.py); the expected classifications follow from them.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.support.people_cli import people as smp
from tests.support.people_cli import use_database
from tests.support.people_rows import add_people, person_row, seed_members
from typer.testing import Result

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def cli(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_database(engine, tmp_path, monkeypatch)


def accounts(integration: str) -> dict[str, tuple[str, str | None, int | None]]:
    """email -> (classification, matched_by, person_id), as the CLI prints them."""
    result = smp("accounts", "--integration", integration, "--json")
    assert result.exit_code == 0, result.output
    return {
        a["email"]: (a["classification"], a["matched_by"], a["person_id"])
        for a in json.loads(result.stdout)
    }


def one_line_refusal(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1, result.output
    for word in words:
        assert word in result.output


@pytest.mark.usefixtures("cli")
def test_domains_are_added_listed_and_removed(engine: Engine) -> None:
    domain = f"corp-{uuid.uuid4().hex[:6]}.test"
    name = seed_members(engine, NOW, [f"who@{domain}"])
    added = smp("domains", "add", f"@{domain.upper()}")
    assert added.exit_code == 0, added.output
    assert f"Added company domain {domain}" in added.output
    assert accounts(name)[f"who@{domain}"] == ("unknown_internal", None, None)
    again = smp("domains", "add", domain)
    assert f"{domain} is already a company domain" in again.output
    listed = smp("domains", "list", "--json")
    assert domain in [d["domain"] for d in json.loads(listed.stdout)]
    assert domain in smp("domains", "list").output
    removed = smp("domains", "remove", domain)
    assert removed.exit_code == 0, removed.output
    assert accounts(name)[f"who@{domain}"] == ("external", None, None)
    one_line_refusal(smp("domains", "remove", domain), domain, "not a company domain")
    one_line_refusal(smp("domains", "add", "localhost"), "not a domain name")
    one_line_refusal(smp("domains", "add", f"ann@{domain}"), "e-mail", domain)


@pytest.mark.usefixtures("cli")
def test_link_and_unlink_an_account(engine: Engine) -> None:
    tag = uuid.uuid4().hex[:6]
    private = f"ann.{tag}@gmail.test"
    (ann,) = add_people(engine, person_row(f"ann.{tag}@corp.test", now=NOW))
    name = seed_members(engine, NOW, [private])
    linked = smp("link", private.upper(), str(ann))
    assert linked.exit_code == 0, linked.output
    assert f"Linked {private.upper()} to person {ann}" in linked.output
    assert "1 account with this e-mail now belongs to them." in linked.output
    assert accounts(name)[private] == ("employee", "manual", ann)
    shown = json.loads(smp("show", str(ann), "--json").stdout)
    assert [(a["email"], a["matched_by"]) for a in shown["accounts"]] == [
        (private, "manual")
    ]
    waiting = smp("link", f"later.{tag}@gmail.test", str(ann))
    assert "No account has this e-mail yet" in waiting.output
    unlinked = smp("unlink", private)
    assert unlinked.exit_code == 0, unlinked.output
    assert f"from person {ann}" in unlinked.output
    assert accounts(name)[private] == ("external", None, None)
    one_line_refusal(smp("unlink", private), private, "not linked")
    one_line_refusal(smp("link", private, "2147483647"), "no person 2147483647")
    one_line_refusal(smp("link", "not-an-email", str(ann)), "not an e-mail address")
    bad_id = smp("link", private, "ann")
    assert bad_id.exit_code == 2


def test_an_empty_directory_says_how_to_fill_it(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_database(db, tmp_path, monkeypatch)
    empty = smp("list")
    assert empty.exit_code == 0, empty.output
    assert "No directory yet" in empty.output
    assert "smp people import" in empty.output
    assert json.loads(smp("list", "--json").stdout) == []
    assert json.loads(smp("accounts", "--json").stdout) == []
    assert "No company domain yet" in smp("domains", "list").output
