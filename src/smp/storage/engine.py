"""Where the database is, how to connect to it, and bringing it to the current schema.

SQLite (the default, `$SMP_HOME/smp.db`) runs in WAL mode with foreign keys on
and a busy timeout; write transactions start with `BEGIN IMMEDIATE` so two
processes queue for the write lock instead of failing half-way. PostgreSQL is
reached through psycopg 3 whatever spelling of the scheme the user gives.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from smp.settings import database_url_setting, smp_home
from smp.storage.errors import ConfigError, StorageError

SQLITE_BUSY_TIMEOUT_MS = 15_000
# Reads through a shared mapping instead of each pooled connection's own 2 MB
# page cache: a search over 200,000 members looks up thousands of rows by id.
SQLITE_MMAP_BYTES = 256 * 1024 * 1024
# SMP_HOME and the files in it (database, WAL, master key) are the user's alone.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}


def ensure_home(home: Path | None = None) -> Path:
    """Create `SMP_HOME` (0700) if needed and prove it is writable, else ConfigError.

    An existing folder keeps its mode: `home_exposure` says when others can read it.
    """
    path = home or smp_home()
    try:
        if not path.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):  # another process was first
                path.mkdir(mode=PRIVATE_DIR_MODE)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"SMP_HOME {path} is not writable ({exc.strerror or exc}); "
            "set SMP_HOME to a directory you can write to"
        ) from None
    return path


def home_exposure(home: Path | None = None) -> str | None:
    """A warning when an existing `SMP_HOME` is open to other users, else None."""
    path = home or smp_home()
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if not mode & 0o077:
        return None
    return (
        f"SMP_HOME {path} is open to other users (mode {mode:04o}); "
        f"`chmod 700 {path}` keeps its database and master key private"
    )


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists.

    SQLite creates a database file 0644, and its -wal and -shm files with the
    database file's mode, so a database that starts as this file keeps all three
    private whatever the umask.
    """
    # Any other failure (say, a read-only folder) is SQLite's to report on connect.
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))


def normalize_url(raw: str) -> URL:
    """Parse a database URL; rewrite any PostgreSQL spelling to psycopg 3."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(
            "SMP_DATABASE_URL is not a database URL; expected e.g. "
            "postgresql://user@host/db or sqlite:////path/to/smp.db"
        ) from None
    scheme = url.drivername
    if scheme in _POSTGRES_SCHEMES:
        return url.set(drivername="postgresql+psycopg")
    if scheme in {"sqlite", "sqlite+pysqlite"}:
        return url.set(drivername="sqlite+pysqlite")
    raise ConfigError(
        f"unknown database URL scheme {scheme!r}; SMP supports sqlite:///… and "
        "postgresql://… (psycopg 3)"
    )


def database_url(home: Path | None = None) -> URL:
    """`SMP_DATABASE_URL`, or SQLite at `$SMP_HOME/smp.db` (SMP_HOME is created)."""
    configured = database_url_setting()
    if configured:
        return normalize_url(configured)
    path = ensure_home(home) / "smp.db"
    return URL.create("sqlite+pysqlite", database=str(path))


def describe(url: URL) -> str:
    """The URL for messages: never the password."""
    return url.render_as_string(hide_password=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: URL | str | None = None) -> Engine:
    """An engine for `url` (default: `database_url()`), configured per dialect."""
    target = normalize_url(url) if isinstance(url, str) else (url or database_url())
    if target.drivername.startswith("sqlite"):
        if target.database and target.database != ":memory:":
            parent = Path(target.database).expanduser().parent
            if not parent.is_dir():
                raise ConfigError(f"the directory {parent} for the database is missing")
            create_private_file(Path(target.database).expanduser())
        engine = create_engine(target)
        _configure_sqlite(engine)
        return engine
    try:
        return create_engine(target, pool_pre_ping=True)
    except ImportError:  # psycopg is the optional `postgres` extra
        raise ConfigError(
            "PostgreSQL needs the psycopg driver: pip install 'smp[postgres]'"
        ) from None


def read_session(engine: Engine) -> Session:
    """A session that only reads: on SQLite it never waits for the write lock.

    Every other session begins with BEGIN IMMEDIATE, so a read would queue
    behind the writer's transactions; in WAL mode a reader needs no lock.
    """
    # PostgreSQL ignores the option: its readers never wait for writers.
    return Session(engine.execution_options(sqlite_begin="DEFERRED"))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for `engine` (reads that must not wait: `read_session`)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def storage_error(exc: Exception, engine: Engine) -> StorageError:
    """Translate a driver failure into a message a person can act on."""
    where = describe(engine.url)
    original = getattr(exc, "orig", None)
    if isinstance(original, sqlite3.DatabaseError) and not isinstance(
        original, sqlite3.OperationalError
    ):
        return StorageError(
            f"{where} is not a usable SQLite database (corrupt or not a database "
            "file); move it away or point SMP_HOME / SMP_DATABASE_URL elsewhere"
        )
    if isinstance(exc, OperationalError):
        detail = str(original or exc).strip().splitlines()[0]
        return StorageError(f"cannot use the database {where}: {detail}")
    if isinstance(exc, DatabaseError):
        return StorageError(f"database error on {where}: {original or exc}")
    return StorageError(f"database error on {where}: {exc}")


def existing_tables(engine: Engine) -> set[str]:
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    except DatabaseError as exc:
        raise storage_error(exc, engine) from None


def file_is_sqlite(path: Path) -> bool:
    """True for an empty file or one with the SQLite header."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    with path.open("rb") as handle:
        return handle.read(16) == b"SQLite format 3\x00"


def check_sqlite_file(engine: Engine) -> None:
    database = engine.url.database
    if not database or database == ":memory:":
        return
    path = Path(os.path.expanduser(database))
    if not file_is_sqlite(path):
        raise StorageError(
            f"{path} is not an SQLite database (corrupt or a foreign file); move it "
            "away or point SMP_HOME / SMP_DATABASE_URL elsewhere"
        )


@contextlib.contextmanager
def unmapped(session: Session) -> Iterator[None]:
    """SQLite reads without its memory map while this runs, then with it again.

    A single pass over most of the database (a full reclassification, a review
    campaign's snapshot or its evidence pack) would map nearly every page it
    reads: they all count in the process's resident memory (about 100 MB more
    for 200,000 accounts) for no gain when each page is read once. Through
    SQLite's page cache they do not. Other databases: nothing to do.
    """
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    connection = session.connection()
    connection.exec_driver_sql("PRAGMA mmap_size = 0")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
