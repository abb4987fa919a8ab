"""Shared fixtures: real PostgreSQL and Redis, which CI requires to run."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine

if TYPE_CHECKING:
    from tests.support.app import Server

pytest_plugins = ["tests.support.databases"]

# OWASP's scrypt cost takes about a second per hash here, and the suites create
# and sign in hundreds of users; `smp` processes the tests start inherit this.
# Tests of the real cost remove it (tests/storage/test_passwords.py).
os.environ["SMP_TEST_ONLY_FAST_PASSWORD_HASH"] = "1"

POSTGRES_URL = os.environ.get(
    "SMP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SMP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _need(service: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{service} is not reachable at {host}:{port}"
    if os.environ.get("SMP_REQUIRE_SERVICES"):
        pytest.fail(f"{message}, and CI requires it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    _need("PostgreSQL", "127.0.0.1", 5432)
    _install_pg_trgm_in_public(POSTGRES_URL)
    return POSTGRES_URL


def _install_pg_trgm_in_public(url: str) -> None:
    # Otherwise the first test schema's migration installs pg_trgm into itself,
    # and dropping that schema drops every other schema's search index with it.
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    # Check the server SMP_TEST_REDIS_URL names, not a fixed one.
    parsed = urlsplit(REDIS_URL)
    _need("Redis", parsed.hostname or "127.0.0.1", parsed.port or 6379)
    return REDIS_URL


@pytest.fixture(scope="module")
def server(engine: Engine) -> Server:
    """The module's SMP app on the simulator in process (tests/support/app.py)."""
    # Imported here: the environment above is set before SMP is imported.
    from tests.support.app import make_server

    return make_server(engine)


@pytest.fixture(scope="module")
def synced(server: Server) -> int:
    """The id of an integration connected with the world's full and billing keys."""
    from tests.support.app import connect_and_sync

    return asyncio.run(connect_and_sync(server, "Synced"))


@pytest.fixture
def db(fresh_engine: Engine) -> Engine:
    """A database of its own: a SendGrid account is connected once per database,
    and every world here holds the same account."""
    from smp.storage import migrate

    migrate(fresh_engine)
    return fresh_engine


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An SMP_HOME of the test's own, with no database URL or master key set."""
    monkeypatch.setenv("SMP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SMP_DATABASE_URL", raising=False)
    monkeypatch.delenv("SMP_SECRET_KEY", raising=False)
    return tmp_path / "home"
