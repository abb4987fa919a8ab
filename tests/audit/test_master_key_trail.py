"""`smp keys rotate-master` is in the trail, on both databases (a module of its
own: its fresh database holds no secret under another test's master key)."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.support.people_cli import use_database
from typer.testing import CliRunner

from smp.cli.main import app
from smp.storage.tables import AuditEventRow


def test_rotating_the_master_key_is_recorded(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_database(engine, tmp_path, monkeypatch)
    result = CliRunner().invoke(app, ["keys", "rotate-master"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        rows = session.execute(
            select(
                AuditEventRow.actor,
                AuditEventRow.source,
                AuditEventRow.target,
                AuditEventRow.details,
            ).where(AuditEventRow.action == "master_key.rotate")
        ).all()
    assert [tuple(row) for row in rows] == [
        (
            f"cli:{getpass.getuser()}",
            "cli",
            "master key",
            {"keys": 0, "channel_secrets": 0},
        )
    ]
