"""`smp connect` and `smp service-account add` refuse wrong key combinations, a
second integration of one account and an unconfirmed billing key, with exit 2,
one message and nothing stored; on a terminal they ask about the billing key."""

from __future__ import annotations

import getpass
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.support.connect_site import stored, two_accounts
from tests.support.simulator import serve_simulator
from typer.testing import CliRunner

from smp.cli.main import app
from smp.simulator import Simulator, World
from smp.storage import make_engine

SMP = str(Path(sys.executable).with_name("smp"))
pytestmark = pytest.mark.loopback


class Served:
    def __init__(self, world: World, base_url: str, home: Path) -> None:
        self.world, self.base_url, self.home = world, base_url, home

    def engine(self) -> Engine:
        return make_engine(f"sqlite:///{self.home / 'smp.db'}")

    def key_id(self, kind: str, account: int) -> str:
        username = self.world.accounts[account].username
        return next(
            k.key_id
            for k in self.world.keys
            if k.account == username and k.kind == kind
        )


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    home = tmp_path / "home"
    monkeypatch.setenv("SMP_HOME", str(home))
    monkeypatch.delenv("SMP_DATABASE_URL", raising=False)
    monkeypatch.delenv("SMP_SECRET_KEY", raising=False)
    world = two_accounts()
    for index, account in enumerate(world.accounts):
        for key in world.keys:
            if key.account == account.username:
                monkeypatch.setenv(f"SG_{key.kind.upper()}_{index}", key.key)
    with serve_simulator(Simulator(world)) as base_url:
        yield Served(world, base_url, home)


def smp(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())  # Rich wraps at 80


def connect(served: Served, name: str, *keys: str) -> tuple[int, str]:
    return smp("connect", "sendgrid", name, *keys, "--base-url", served.base_url)


def test_each_wrong_connection_is_refused_and_stores_nothing(served: Served) -> None:
    code, out = connect(served, "Acme mail", "--key-env", "SG_FULL_0")
    assert code == 0, out
    engine = served.engine()
    before = stored(engine)
    one, two = (a.username for a in served.world.accounts)
    billing = f"SG.{served.key_id('billing', 1)}…"
    full = f"SG.{served.key_id('full', 1)}…"
    validation = f"SG.{served.key_id('validation', 1)}…"
    cases = [
        (
            ["--key-env", "SG_RESTRICTED_0"],
            f"account {one} is already connected as integration 'Acme mail'; "
            "add keys to it with `smp service-account add`",
        ),
        (
            ["--key-env", "SG_BILLING_1"],
            f"access token ({billing}): this is a billing key: give it as the "
            "access token with billing permissions",
        ),
        (
            ["--key-env", "SG_VALIDATION_1"],
            f"access token ({validation}): this is an e-mail validation key: add "
            "it to the integration in Service settings (`smp service-account add`)",
        ),
        (
            ["--key-env", "SG_BILLING_1", "--billing-key-env", "SG_FULL_1"],
            f"the two keys look swapped: access token ({billing}) is a billing key "
            f"and billing token ({full}) is not; give each in the other's place",
        ),
        (
            ["--key-env", "SG_FULL_1", "--billing-key-env", "SG_BILLING_1"],
            f"billing token ({billing}): SendGrid does not let a billing key tell "
            f"which account it belongs to; if it belongs to SendGrid account {two}, "
            "confirm it with --confirm-billing-account",
        ),
    ]
    for keys, message in cases:
        code, out = connect(served, "Refused", *keys)
        assert (code, out) == (2, f"error: {message}"), keys
        assert stored(engine) == before, keys
    engine.dispose()


def test_a_confirmed_billing_key_is_recorded_and_serves_one_integration(
    served: Served,
) -> None:
    code, out = connect(
        served,
        "Acme mail",
        "--key-env",
        "SG_FULL_0",
        "--billing-key-env",
        "SG_BILLING_0",
        "--confirm-billing-account",
        "--json",
    )
    assert code == 0, out
    assert (
        json.loads(out)["billing_confirmed_by"] == f"{getpass.getuser()} (command line)"
    )
    code, listing = smp("service-account", "list", "Acme mail")
    assert code == 0, listing
    who = (
        f"The billing key's account was confirmed by {getpass.getuser()} (command line)"
    )
    assert who in listing
    code, out = connect(served, "Other mail", "--key-env", "SG_FULL_1")
    assert code == 0, out
    engine = served.engine()
    before = stored(engine)
    add = ("service-account", "add", "Other mail", "--label", "billing")
    code, out = smp(*add, "--key-env", "SG_BILLING_1")
    assert code == 2, out
    assert out.endswith("confirm it with --confirm-billing-account")
    code, out = smp(*add, "--key-env", "SG_BILLING_0", "--confirm-billing-account")
    shown = f"SG.{served.key_id('billing', 0)}…"
    assert (code, out) == (
        2,
        f"error: billing ({shown}) is already connected to integration 'Acme mail'",
    )
    assert stored(engine) == before
    code, out = smp(*add, "--key-env", "SG_BILLING_1", "--confirm-billing-account")
    assert code == 0, out
    after = stored(engine)
    assert (after.keys, after.confirmed) == (before.keys + 1, before.confirmed + 1)
    engine.dispose()


def _on_a_terminal(args: list[str], answer: str) -> tuple[int, str]:
    """Run `smp` with a pseudo-terminal as stdin, answer its question, collect."""
    primary, secondary = os.openpty()
    process = subprocess.Popen(
        [SMP, *args], stdin=secondary, stdout=secondary, stderr=secondary
    )
    os.close(secondary)
    seen, answered = b"", False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(primary, answer.encode() + b"\n")
            answered = True
        if process.poll() is not None and not ready:
            break
    os.close(primary)
    code = process.wait(timeout=30)
    assert answered, seen.decode(errors="replace")
    return code, " ".join(seen.decode(errors="replace").split())


def test_on_a_terminal_smp_asks_whose_the_billing_key_is(served: Served) -> None:
    args = [
        "connect",
        "sendgrid",
        "Asked",
        "--key-env",
        "SG_FULL_0",
        "--billing-key-env",
        "SG_BILLING_0",
        "--base-url",
        served.base_url,
        "--json",
    ]
    question = (
        f"SendGrid cannot tell which account the billing key "
        f"SG.{served.key_id('billing', 0)}… belongs to. Does it belong to "
        f"SendGrid account {served.world.accounts[0].username}? [y/N]"
    )
    code, out = _on_a_terminal(args, "n")
    assert code == 2, out
    assert question in out
    assert "confirm it with --confirm-billing-account" in out
    engine = served.engine()
    assert stored(engine).integrations == 0
    code, out = _on_a_terminal(args, "y")
    assert code == 0, out
    assert question in out
    after = stored(engine)
    assert (after.integrations, after.keys, after.confirmed) == (1, 2, 1)
    engine.dispose()
