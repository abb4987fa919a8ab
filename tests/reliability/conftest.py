"""Fixtures: a migrated SMP database per run, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.support.databases import postgres_schema

from smp.storage import make_engine, migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'smp.db'}"
        return
    base: str = request.getfixturevalue("postgres_url")
    with postgres_schema(base, "smp_crash") as url:
        yield url


@pytest.fixture
def migrated(database: str) -> Iterator[Engine]:
    """An engine on `database`, migrated, and disposed however the test ends:
    a failed test's pooled PostgreSQL connections would otherwise be closed
    by the garbage collector, a ResourceWarning in whatever test runs then."""
    engine = make_engine(database)
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
