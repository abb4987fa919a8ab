"""`smp reviews`: the issue's JSON shapes, a reviewer's view with `--as`, bulk
decisions by filter, and one-line refusals with exit code 2 that change nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from tests.reviews.world import MANAGER_USER, OWNER_USER, ReviewWorld, build
from tests.support.people_cli import use_database
from typer.testing import CliRunner, Result

from smp.cli.main import app

# The CLI's words and shapes; storage runs on both databases in test_campaigns.
pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

LIST_KEYS = ["id", "name", "status", "integrations", "due", "items", "decided"]
ITEM_KEYS = [
    "item_id",
    "integration",
    "email",
    "role",
    "classification",
    "reviewer",
    "decision",
    "reason",
    "decided_by",
    "decided_at",
    "remediation",
]
# The world's 8 teammates, 2 invites and 2 subusers.
ACCOUNTS = 12


def smp(*args: str) -> Result:
    return CliRunner().invoke(app, ["reviews", *args], catch_exceptions=False)


def as_json(*args: str) -> Any:
    result = smp(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module")
def rw(engine: Engine) -> ReviewWorld:
    return build(engine, "cli world")


@pytest.fixture
def campaign(rw: ReviewWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    use_database(rw.engine, tmp_path, monkeypatch)
    name = f"CLI {tmp_path.name}"
    owner = smp("owner", rw.name, OWNER_USER)
    assert owner.exit_code == 0, owner.output
    made = smp(
        "create",
        name,
        "--integrations",
        rw.name,
        "--due",
        "2027-01-31",
        "--reviewer-rule",
        "manager",
    )
    assert made.exit_code == 0, made.output
    assert f"with {ACCOUNTS} items" in made.output
    [found] = [c for c in as_json("list") if c["name"] == name]
    return int(found["id"])


def test_json_shapes(rw: ReviewWorld, campaign: int) -> None:
    [listed] = [c for c in as_json("list") if c["id"] == campaign]
    assert list(listed) == LIST_KEYS
    assert listed["integrations"] == [rw.name]
    assert (listed["status"], listed["due"], listed["items"], listed["decided"]) == (
        "open",
        "2027-01-31",
        ACCOUNTS,
        0,
    )
    items = as_json("items", str(campaign))
    assert len(items) == ACCOUNTS
    # Exactly the keys; --steps adds the remediation's details.
    assert all(list(i) == ITEM_KEYS for i in items)
    detailed = as_json("items", str(campaign), "--steps")
    assert all(
        list(i) == [*ITEM_KEYS, "remediation_steps", "remediation_verified_at"]
        for i in detailed
    )
    emails = {t["email"] for t in rw.world.accounts[0].teammates}
    assert emails <= {i["email"] for i in items}
    shown = as_json("show", str(campaign))
    assert len(shown["snapshot_sha256"]) == 64
    assert shown["reviewer_rule"] == "manager"


def test_reviewer_view_and_decisions(campaign: int) -> None:
    everything = as_json("items", str(campaign))
    marias = as_json("items", str(campaign), "--as", MANAGER_USER)
    # The first half of the 8 teammates have the manager who is an SMP user.
    assert len(marias) == 4
    assert {i["reviewer"] for i in marias} == {MANAGER_USER}
    others = [i for i in everything if i["reviewer"] != MANAGER_USER]
    refused = smp(
        "decide", str(campaign), str(others[0]["item_id"]), "keep", "--as", MANAGER_USER
    )
    assert refused.exit_code == 2
    assert "assigned to another reviewer" in refused.output
    assert as_json("items", str(campaign)) == everything
    marketing = smp("decide", str(campaign), "--filter", "department=Marketing", "keep")
    assert marketing.exit_code == 0, marketing.output
    assert "4 items decided keep" in marketing.output
    kept = as_json("items", str(campaign), "--filter", "decision=keep")
    assert len(kept) == 4
    [by] = {i["decided_by"] for i in kept}
    assert by.startswith("cli:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["1", "maybe"], "the last word must be keep, revoke or modify"),
        (["--filter", "kind=teammate", "revoke"], "a revoke decision needs a reason"),
        (["--filter", "kind=teammate", "modify", "--reason", "x"], "new role"),
        (["--filter", "colour=red", "keep"], "filter: unknown field 'colour'"),
        (["--filter", "kind=teammate", "1", "keep"], "not both"),
        (["--filter", "integration=nosuch", "keep"], "filter: no integration"),
    ],
)
def test_bad_decisions(campaign: int, args: list[str], message: str) -> None:
    before = as_json("items", str(campaign))
    result = smp("decide", str(campaign), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert as_json("items", str(campaign)) == before


def test_an_unknown_integration_in_a_filter_is_bad_input(campaign: int) -> None:
    listed = smp("items", str(campaign), "--filter", "integration=nosuch")
    assert listed.exit_code == 2
    assert listed.output.strip() == "error: filter: no integration 'nosuch'"


def test_a_filter_leaves_decided_items_unless_overridden(campaign: int) -> None:
    [first, *_] = as_json("items", str(campaign), "--filter", "kind=teammate")
    one = smp("decide", str(campaign), str(first["item_id"]), "revoke", "--reason", "x")
    assert one.exit_code == 0, one.output
    kept = smp("decide", str(campaign), "--filter", "kind=teammate", "keep")
    assert kept.exit_code == 0, kept.output
    # The world's 8 teammates, one decided already.
    assert kept.output.strip() == (
        "7 items decided keep; 1 decided already left as they were "
        "(--override to replace them)"
    )
    again = smp(
        "decide", str(campaign), "--filter", "kind=teammate", "keep", "--override"
    )
    assert again.output.strip() == (
        "8 items decided keep, of which 8 had a decision before (replaced)"
    )
    decided = as_json("items", str(campaign), "--filter", "kind=teammate")
    assert {i["decision"] for i in decided} == {"keep"}


def test_signoff_needs_every_decision(campaign: int) -> None:
    early = smp("signoff", str(campaign))
    assert early.exit_code == 2
    assert f"has {ACCOUNTS} undecided items" in early.output
    viewer = smp("signoff", str(campaign), "--as", OWNER_USER)
    assert viewer.exit_code == 2
    assert "only an admin" in viewer.output
    assert (
        smp("decide", str(campaign), "--filter", "decision=none", "keep").exit_code == 0
    )
    done = smp("signoff", str(campaign))
    assert done.exit_code == 0, done.output
    [closed] = [c for c in as_json("list") if c["id"] == campaign]
    assert (closed["status"], closed["decided"]) == ("closed", ACCOUNTS)
    late = smp("decide", str(campaign), "--filter", "kind=teammate", "keep")
    assert late.exit_code == 2
    assert "is closed" in late.output


def test_bad_campaign_input(rw: ReviewWorld, campaign: int) -> None:
    bad_due = smp("create", "x", "--integrations", rw.name, "--due", "31/01/2027")
    assert bad_due.exit_code == 2
    assert "--due '31/01/2027' is not a date" in bad_due.output
    unknown = smp("create", "x", "--integrations", "no such")
    assert unknown.exit_code == 2
    assert smp("show", "2147483646").exit_code == 2
    assert smp("items", str(campaign), "--as", "nobody").exit_code == 2
    assert not [c for c in as_json("list") if c["name"] == "x"]
