"""Bring a database to the current schema with Alembic, refusing foreign databases."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError

from smp.storage.engine import (
    check_sqlite_file,
    describe,
    existing_tables,
    storage_error,
)
from smp.storage.errors import StorageError

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def check_database(engine: Engine) -> None:
    """Raise StorageError for a corrupt, foreign or newer database."""
    if engine.dialect.name == "sqlite":
        check_sqlite_file(engine)
    tables = existing_tables(engine)
    if tables and VERSION_TABLE not in tables:
        sample = ", ".join(sorted(tables)[:5])
        raise StorageError(
            f"{describe(engine.url)} already holds tables that are not SMP's "
            f"({sample}); use an empty database"
        )
    if VERSION_TABLE in tables:
        revision = current_revision(engine)
        known = {
            script.revision
            for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
        }
        if revision is not None and revision not in known:
            raise StorageError(
                f"{describe(engine.url)} was written by a newer SMP (schema "
                f"{revision}); upgrade SMP to use it"
            )


def migrate(engine: Engine) -> None:
    """Check the database, then upgrade it to the head revision in one transaction."""
    check_database(engine)
    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except DatabaseError as exc:
        raise storage_error(exc, engine) from None
    except CommandError as exc:
        raise StorageError(f"cannot migrate {describe(engine.url)}: {exc}") from None
