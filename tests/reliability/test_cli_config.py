"""Broken configuration via the real CLI: one clear line, exit != 0, no traceback."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smp.cli.main import app
from smp.storage import generate_key


def _refused(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    text = result.output + (result.stderr if result.stderr_bytes else "")
    assert result.exit_code not in (0, None), text
    assert "Traceback" not in text
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    return text


def test_a_foreign_file_as_database(home: Path) -> None:
    home.mkdir()
    (home / "smp.db").write_bytes(b"%PDF-1.7 not a database at all" * 100)
    assert "not an SQLite database" in _refused("members", "x", "--json")


def test_a_corrupt_sqlite_database(home: Path) -> None:
    home.mkdir()
    path = home / "smp.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (x)")
        connection.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # keep the header, wreck the rest
    path.write_bytes(bytes(data))
    text = _refused("members", "x", "--json")
    assert "database" in text


def test_an_unknown_database_url_scheme(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMP_DATABASE_URL", "mysql://root@localhost/smp")
    assert "unknown database URL scheme" in _refused("members", "x")


def test_postgresql_without_its_driver_names_the_extra(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if never installed
    monkeypatch.setenv("SMP_DATABASE_URL", "postgresql://smp@127.0.0.1/smp")
    # The runner shows stderr in both its output and its stderr.
    lines = set(_refused("members", "x").strip().splitlines())
    assert lines == {
        "error: PostgreSQL needs the psycopg driver: pip install 'smp[postgres]'"
    }


def test_an_unusable_smp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    # A path under a file cannot be created, even by root.
    monkeypatch.setenv("SMP_HOME", str(blocker / "home"))
    monkeypatch.delenv("SMP_DATABASE_URL", raising=False)
    monkeypatch.delenv("SMP_SECRET_KEY", raising=False)
    assert "SMP_HOME" in _refused("members", "x")


def test_a_wrong_master_key(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from smp.model import KeyKind, KeyStatus
    from smp.storage import (
        SecretBox,
        add_service_account,
        create_integration,
        make_engine,
        migrate,
        session_factory,
    )

    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'smp.db'}")
    migrate(engine)
    right = SecretBox.from_key(generate_key())
    with session_factory(engine).begin() as session:
        integration = create_integration(session, "Keyed", "global")
        add_service_account(
            session,
            integration.id,
            label="full",
            kind=KeyKind.FULL,
            scopes=[],
            capabilities=[],
            missing={},
            key_id="A" * 22,
            encrypted_secret=right.encrypt("SG." + "A" * 22 + "." + "b" * 43),
            status=KeyStatus.OK,
        )
    engine.dispose()
    monkeypatch.setenv("SMP_SECRET_KEY", generate_key())
    text = _refused("sync", "Keyed")
    assert "master key" in text.lower()
    assert "b" * 43 not in text


def test_a_bad_limit_of_requests_in_flight(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMP_GLOBAL_IN_FLIGHT", "lots")
    # A worker refuses it before it starts consuming, not once per task.
    for command in (["sync", "--all"], ["worker"]):
        text = _refused(*command)
        assert "SMP_GLOBAL_IN_FLIGHT must be a whole number of at least 1" in text
