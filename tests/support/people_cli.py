"""`smp people ...` run in process on a test's database (the people CLI tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from smp.cli import opening
from smp.cli.main import app


def use_database(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commands get this engine itself (its fixture disposes of it, so no
    command leaves a pool open), with a home and master key of their own."""
    monkeypatch.setenv("SMP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SMP_SECRET_KEY", raising=False)
    monkeypatch.setattr(opening, "make_engine", lambda _url: engine)


def people(*args: str) -> Result:
    """The result of `smp people ARGS`, whatever its exit code."""
    return CliRunner().invoke(app, ["people", *args], catch_exceptions=False)
