"""Database fixtures shared by the storage and sync tests (registered in conftest).

`engine` is parametrized over SQLite (a file under tmp_path) and PostgreSQL (a
fresh schema with a random name, dropped afterwards), migrated to head, and
shared by a test module: tests isolate themselves with `new_integration`.
`fresh_engine` is an unmigrated, empty database per test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from smp.model import Integration
from smp.storage import create_integration, make_engine, migrate, session_factory


def _sqlite_engine(directory: Path) -> Engine:
    return make_engine(f"sqlite:///{directory / 'smp.db'}")


@contextmanager
def _admin(base_url: str) -> Iterator[Connection]:
    """A transaction on the server, its engine disposed however it ends."""
    admin = create_engine(base_url)
    try:
        with admin.begin() as connection:
            yield connection
    finally:
        admin.dispose()


def _schema_url(base_url: str, schema: str) -> str:
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _postgres_engine(base_url: str) -> tuple[Engine, str]:
    schema = f"smp_test_{uuid.uuid4().hex[:12]}"
    with _admin(base_url) as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    return make_engine(_schema_url(base_url, schema)), schema


@contextmanager
def postgres_schema(base_url: str, prefix: str) -> Iterator[str]:
    """The URL of a fresh schema with a random name, dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with _admin(base_url) as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(base_url, schema)
    finally:
        _drop_schema(base_url, schema)


def _drop_schema(base_url: str, schema: str) -> None:
    with _admin(base_url) as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _open(request: pytest.FixtureRequest, directory: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = _sqlite_engine(directory)
        yield engine
        engine.dispose()
        return
    base_url: str = request.getfixturevalue("postgres_url")
    engine, schema = _postgres_engine(base_url)
    try:
        yield engine
    finally:
        engine.dispose()
        _drop_schema(base_url, schema)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    for opened in _open(request, tmp_path_factory.mktemp("db")):
        migrate(opened)
        yield opened


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from _open(request, tmp_path)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as opened:
        yield opened


@pytest.fixture
def new_integration(engine: Engine) -> Integration:
    """A uniquely named integration, committed, so tests in a module stay apart."""
    with session_factory(engine).begin() as opened:
        return create_integration(opened, f"Test {uuid.uuid4().hex[:8]}", "global")
