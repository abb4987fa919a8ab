"""Alembic migrations produce exactly the ORM metadata, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from smp.storage import head_revision, migrate
from smp.storage.migrate import current_revision
from smp.storage.search import include_name
from smp.storage.tables import Base


def test_migrations_match_the_models(fresh_engine: Engine) -> None:
    migrate(fresh_engine)
    with fresh_engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "render_as_batch": True,
                "include_name": include_name,
            },
        )
        assert compare_metadata(context, Base.metadata) == []
    assert current_revision(fresh_engine) == head_revision()
    tables = set(inspect(fresh_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_migrate_is_idempotent(fresh_engine: Engine) -> None:
    migrate(fresh_engine)
    migrate(fresh_engine)
    assert current_revision(fresh_engine) == head_revision()
