"""Database URLs, bad files and homes, SQLite pragmas, and the integration lock."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from tests.support.databases import postgres_schema

from smp.model import Integration
from smp.storage import (
    ConfigError,
    LockBusyError,
    StorageError,
    database_url,
    integration_lock,
    make_engine,
    migrate,
    normalize_url,
    read_session,
)
from smp.storage import engine as engine_module


def test_url_schemes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for raw in (
        "postgres://u@h/db",
        "postgresql://u@h/db",
        "postgresql+psycopg://u@h/db",
    ):
        assert normalize_url(raw).drivername == "postgresql+psycopg"
    with pytest.raises(ConfigError, match="unknown database URL scheme 'mysql'"):
        normalize_url("mysql://u@h/db")
    with pytest.raises(ConfigError, match="not a database URL"):
        normalize_url("::nonsense::")
    monkeypatch.delenv("SMP_DATABASE_URL", raising=False)
    monkeypatch.setenv("SMP_HOME", str(tmp_path / "new home"))
    url = database_url()
    assert url.database == str(tmp_path / "new home" / "smp.db")
    assert (tmp_path / "new home").is_dir()
    monkeypatch.setenv("SMP_DATABASE_URL", "postgres://user:pw@db.example/smp")
    assert database_url().drivername == "postgresql+psycopg"


def test_unwritable_home(monkeypatch: pytest.MonkeyPatch) -> None:
    # /proc refuses new directories even to root, so this runs everywhere.
    monkeypatch.delenv("SMP_DATABASE_URL", raising=False)
    monkeypatch.setenv("SMP_HOME", "/proc/smp-home")
    with pytest.raises(ConfigError, match="not writable"):
        database_url()


def test_home_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.delenv("SMP_DATABASE_URL", raising=False)
    monkeypatch.setenv("SMP_HOME", str(blocker))
    with pytest.raises(ConfigError, match="not writable"):
        database_url()


def test_corrupt_file_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "smp.db"
    path.write_bytes(b"this is a text file, not a database\n" * 100)
    with pytest.raises(StorageError, match="not an SQLite database"):
        migrate(make_engine(f"sqlite:///{path}"))


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE recipes (id INTEGER PRIMARY KEY)")
    with pytest.raises(StorageError, match="not SMP's"):
        migrate(make_engine(f"sqlite:///{path}"))


def test_unreachable_postgres_is_a_storage_error() -> None:
    engine = make_engine("postgresql://nobody:secretpw@127.0.0.1:1/none")
    with pytest.raises(StorageError, match="cannot use the database") as caught:
        migrate(engine)
    assert "secretpw" not in str(caught.value)


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'smp.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 15000
        # A literal, as for busy_timeout: a constant set to 0 must fail here.
        mapped = connection.execute(text("PRAGMA mmap_size")).scalar()
        assert mapped == 256 * 1024 * 1024 == engine_module.SQLITE_MMAP_BYTES
    engine.dispose()


def _enter(engine: Engine, integration_id: int, timeout_s: float) -> None:
    with integration_lock(engine, integration_id, timeout_s=timeout_s):
        pass


def test_lock_excludes_a_second_holder(
    engine: Engine, new_integration: Integration
) -> None:
    iid = new_integration.id
    inside = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def holder() -> None:
        try:
            with integration_lock(engine, iid):
                inside.set()
                release.wait(10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=holder)
    thread.start()
    assert inside.wait(10)
    started = time.monotonic()
    with pytest.raises(LockBusyError, match="already being synced"):
        _enter(engine, iid, 0.3)
    assert time.monotonic() - started >= 0.3
    release.set()
    thread.join(10)
    assert errors == []
    with integration_lock(engine, iid, timeout_s=2):
        pass  # free again once released


def test_sqlite_lease_of_a_crashed_owner_expires(tmp_path: Path) -> None:
    from smp.storage import create_integration, session_factory
    from smp.storage.lock import _try_lease

    engine = make_engine(f"sqlite:///{tmp_path / 'smp.db'}")
    migrate(engine)
    with session_factory(engine).begin() as session:
        iid = create_integration(session, "Crashy").id
    # A process took a 0.2 s lease and died without releasing it.
    assert _try_lease(engine, iid, "dead-process", 0.2)
    with pytest.raises(LockBusyError), integration_lock(engine, iid, timeout_s=0):
        pass  # pragma: no cover
    time.sleep(0.3)
    with integration_lock(engine, iid, timeout_s=0):
        pass
    engine.dispose()


def test_postgres_locks_of_two_schemas_are_independent(postgres_url: str) -> None:
    """Advisory locks are per database; SMP keys them by schema as well."""
    with (
        postgres_schema(postgres_url, "smp_lock_a") as a,
        postgres_schema(postgres_url, "smp_lock_b") as b,
    ):
        first, second, again = make_engine(a), make_engine(b), make_engine(a)
        try:
            with (
                integration_lock(first, 1),
                integration_lock(second, 1),
                pytest.raises(LockBusyError),
                integration_lock(again, 1),
            ):
                pass
        finally:
            for engine in (first, second, again):
                engine.dispose()


def test_a_read_session_reads_while_another_connection_holds_the_write_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain session begins IMMEDIATE and waits for the writer; a read
    session reads the last committed data at once."""
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "smp.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (2)")
    try:
        with read_session(engine) as session:
            assert session.scalars(text("SELECT x FROM t")).all() == [1]
        plain = Session(engine)
        with pytest.raises(OperationalError, match="locked"), plain:
            plain.scalars(text("SELECT x FROM t")).all()
    finally:
        writer.rollback()
        writer.close()
        engine.dispose()
