"""Fixtures: a served world and its keys, the CLI on the test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.support.simulator import serve_simulator

from smp import storage
from smp.cli import opening
from smp.simulator import Simulator, World, generate_world


@pytest.fixture
def served(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, str]]:
    """A small world served on loopback, its keys in $SG_FULL, $SG_BILLING, …."""
    world = generate_world(seed=3, accounts=1, teammates=30, pending=3, subusers=3)
    account = world.accounts[0].username
    for key in world.keys:
        if key.account == account:
            monkeypatch.setenv(f"SG_{key.kind.upper()}", key.key)
    with serve_simulator(Simulator(world)) as base_url:
        yield world, base_url


@pytest.fixture
def cli_env(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The CLI on the test database (a master key of its own: nothing is decrypted)."""
    monkeypatch.setenv("SMP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(
        "SMP_DATABASE_URL", engine.url.render_as_string(hide_password=False)
    )
    monkeypatch.delenv("SMP_SECRET_KEY", raising=False)
    opened: list[Engine] = []

    def make_engine(url: object) -> Engine:
        opened.append(storage.make_engine(url))  # type: ignore[arg-type]
        return opened[-1]

    # A command's process would end here; in the test its pool is closed instead.
    monkeypatch.setattr(opening, "make_engine", make_engine)
    yield
    for made in opened:
        made.dispose()
