"""What the CLI prints for people and for pipes, checked against the simulator's world.

CliRunner's output is not a terminal, like `smp members NAME | cat`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session
from tests.support.simulator import serve_simulator
from typer.testing import CliRunner

from smp.cli.data_cmd import NO_ACTIVITY
from smp.cli.main import app
from smp.simulator import Simulator, World, generate_world
from smp.storage import database_url, get_integration, list_sync_runs, make_engine

NAME = "acme"
# Longer than an 80-column table cell: cut to "…" or wrapped before the fix.
LONG_EMAIL = (
    "anastasia.lefevre-van-der-berghe.operations-team"
    "@acme-international-holdings.example"
)
RANKS = ("owner", "admin", "user")
ROLE = {"owner": "owner", "admin": "admin", "teammate": "user"}
# What the fixture's commands printed, for the tests to read.
PRINTED: dict[str, str] = {}


def _invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _connect(
    world: World, base_url: str, mp: pytest.MonkeyPatch, name: str = NAME
) -> None:
    account = world.accounts[0].username
    for key in world.keys:
        if key.account == account:
            mp.setenv(f"SG_{key.kind.upper()}", key.key)
    _invoke(
        "connect", "sendgrid", name, "--key-env", "SG_FULL",
        "--billing-key-env", "SG_BILLING", "--confirm-billing-account",
        "--base-url", base_url,
    )  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One synced integration whose world has a very long e-mail."""
    made = generate_world(seed=5, accounts=1, teammates=12, pending=3, subusers=2)
    made.accounts[0].teammates[-1]["email"] = LONG_EMAIL
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMP_HOME", str(tmp_path_factory.mktemp("home")))
        mp.delenv("SMP_DATABASE_URL", raising=False)
        mp.delenv("SMP_SECRET_KEY", raising=False)
        with serve_simulator(Simulator(made)) as base_url:
            _connect(made, base_url, mp)
            PRINTED["sync"] = _invoke("sync", NAME)
            yield made


@pytest.mark.loopback
def test_piped_members_show_every_email_whole_on_one_line(world: World) -> None:
    lines = _invoke("members", NAME).splitlines()
    account = world.accounts[0]
    emails = [t["email"] for t in account.teammates] + [
        p["email"] for p in account.pending
    ]
    assert LONG_EMAIL in emails
    for email in emails:
        assert sum(email in line for line in lines) == 1, email
    assert not any("…" in line for line in lines)
    # Lines under and over a table are not wrapped at the table's width either.
    removed = _invoke("members", NAME, "--status", "removed").splitlines()
    assert f"Members of {NAME}" in removed[0]
    assert any(line.startswith(NO_ACTIVITY) for line in removed)


@pytest.mark.loopback
def test_the_progress_bar_counts_the_kinds_of_data_it_reports(world: World) -> None:
    """Not "7/7" beside "subusers" for 3 subusers: the count says what it counts."""
    printed = PRINTED["sync"]
    table = printed[printed.index("capability") :].split("requests,")[0]
    # Every kind reported counts, read or not (no e-mail validation key: skipped).
    outcomes = ("│ ok ", "│ failed ", "│ skipped ", "│ unavailable ")
    kinds = sum(
        line.count(outcome) for line in table.splitlines() for outcome in outcomes
    )
    assert f"{kinds}/{kinds} kinds of data" in printed
    assert re.search(r"^[\d,]+ requests, .* member events$", printed, re.M)
    assert len(world.accounts[0].subusers) != kinds  # the old reading is told apart


@pytest.mark.loopback
def test_expired_invites_are_flagged(world: World) -> None:
    lines = _invoke("members", NAME).splitlines()
    now = time.time()
    pending = world.accounts[0].pending
    expired = {p["email"] for p in pending if p["expiration_date"] < now}
    # The world has both kinds, or the test could not fail either way.
    assert expired
    assert expired != {p["email"] for p in pending}
    for invite in pending:
        row = next(line for line in lines if invite["email"] in line)
        assert ("expired" in row) == (invite["email"] in expired), row


@pytest.mark.loopback
def test_roles_are_counted_owner_admin_user(world: World) -> None:
    output = _invoke("members", NAME)
    counts = dict.fromkeys(RANKS, 0)
    for teammate in world.accounts[0].teammates:
        counts[ROLE[teammate["user_type"]]] += 1
    expected = ", ".join(f"{rank}: {n:,}" for rank, n in counts.items() if n)
    assert expected in output


@pytest.mark.loopback
def test_invoice_amounts_have_two_decimals_and_the_currency(world: World) -> None:
    output = _invoke("invoices", NAME)
    invoices = world.accounts[0].invoices
    assert invoices
    for invoice in invoices:
        shown = f"{invoice['amount']:,.2f} {invoice['currency']}"
        row = next(line for line in output.splitlines() if invoice["id"] in line
                   or invoice["invoice_number"] in line)  # fmt: skip
        assert shown in row, (shown, row)


@pytest.mark.loopback
def test_an_unreachable_sendgrid_is_one_line_naming_the_host(world: World) -> None:
    """Its simulator stopped: every key and request fails alike, said once."""
    other = generate_world(seed=6, accounts=1, teammates=3, pending=0, subusers=1)
    with pytest.MonkeyPatch.context() as mp:
        with serve_simulator(Simulator(other)) as base_url:
            _connect(other, base_url, mp, name="gone")
        result = CliRunner().invoke(app, ["sync", "gone"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    host = base_url.removeprefix("http://")
    failures = [line for line in result.output.splitlines() if "failed" in line]
    assert len(failures) == 1, result.output
    assert host in failures[0]
    assert "/v3/" not in result.output
    # What the web and the API show: the run's errors, one line too.
    engine = make_engine(database_url())
    with Session(engine) as session:
        run = list_sync_runs(session, get_integration(session, "gone").id)[0]
    engine.dispose()
    assert len(run.errors) == 1
    assert host in run.errors[0]
