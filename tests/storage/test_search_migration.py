"""Migration 0003 backfills search_text and builds the index, or warns without it."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import psycopg
import pytest
from alembic import command
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from smp.storage import list_members, migrate
from smp.storage.migrate import alembic_config
from smp.storage.search import TRIGRAM_INDEX

NOW = dt.datetime(2026, 11, 1)
ROWS = [
    ("anna@x.example", "anna", "Anna", "Smith"),
    ("zoe@x.example", "zoe", "Zoë", "Ødegård"),
    ("user:solo", "solo", None, None),
]


def _upgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _members_at_0002(engine: Engine) -> int:
    """Rows written by an SMP before 0003: no search_text column yet."""
    _upgrade(engine, "0002")
    with engine.begin() as connection:
        # In SQL: today's ORM tables have columns a database at 0002 lacks.
        iid = connection.execute(
            text(
                "INSERT INTO integrations (name, name_key, region, created_at)"
                " VALUES ('Old data', 'old data', 'global', :t) RETURNING id"
            ),
            {"t": NOW},
        ).scalar_one()
        for key, user, first, last in ROWS:
            connection.execute(
                text(
                    "INSERT INTO members (integration_id, member_key, email, username,"
                    " first_name, last_name, role, status, expiry_reported,"
                    " first_seen, last_seen) VALUES (:i, :k, :e, :u, :f, :l, 'user',"
                    " 'active', false, :t, :t)"
                ),
                {
                    "i": iid,
                    "k": key,
                    "e": None if key.startswith("user:") else key,
                    "u": user,
                    "f": first,
                    "l": last,
                    "t": NOW,
                },
            )
    return iid


def _search(engine: Engine, iid: int, needle: str) -> list[str | None]:
    with Session(engine) as session:
        return [m.username for m in list_members(session, iid, search=needle)]


def test_existing_members_are_backfilled(fresh_engine: Engine) -> None:
    iid = _members_at_0002(fresh_engine)
    migrate(fresh_engine)
    with fresh_engine.connect() as connection:
        query = text("SELECT username, search_text FROM members")
        stored = {row[0]: row[1] for row in connection.execute(query)}
    # Fields inside a longer one (anna, zoe, solo) add nothing a search could find.
    assert stored == {
        "anna": "anna@x.example\x1fsmith",
        "zoe": "zoe@x.example\x1fødegård\x1fzoë",
        "solo": "user:solo",
    }
    assert _search(fresh_engine, iid, "ØDEG") == ["zoe"]
    assert _search(fresh_engine, iid, "smi") == ["anna"]
    assert _search(fresh_engine, iid, "o") == ["solo", "zoe"]
    assert _search(fresh_engine, iid, "user:") == ["solo"]


def _trigram_indexes(engine: Engine) -> list[str]:
    return [
        index["name"]
        for index in inspect(engine).get_indexes("members")
        if index["name"] == TRIGRAM_INDEX
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("fresh_engine", ["postgresql"], indirect=True)
def test_postgres_gets_the_trigram_index(fresh_engine: Engine) -> None:
    migrate(fresh_engine)
    assert _trigram_indexes(fresh_engine) == [TRIGRAM_INDEX]


@pytest.mark.postgres
@pytest.mark.parametrize("fresh_engine", ["postgresql"], indirect=True)
def test_a_refused_extension_leaves_search_working(
    fresh_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = Connection.exec_driver_sql

    def refuse(self: Connection, statement: str, *args: Any, **kwargs: Any) -> Any:
        if statement.startswith("CREATE EXTENSION"):
            denied = psycopg.errors.InsufficientPrivilege(
                'permission denied to create extension "pg_trgm"'
            )
            raise ProgrammingError(statement, None, denied)
        return real(self, statement, *args, **kwargs)

    iid = _members_at_0002(fresh_engine)
    monkeypatch.setattr(Connection, "exec_driver_sql", refuse)
    with caplog.at_level(logging.WARNING, logger="smp.storage"):
        migrate(fresh_engine)
    monkeypatch.undo()
    assert "permission denied to create extension" in caplog.text
    assert "CREATE INDEX ix_members_search_trgm" in caplog.text
    assert _trigram_indexes(fresh_engine) == []
    assert _search(fresh_engine, iid, "ødegård") == ["zoe"]
    assert _search(fresh_engine, iid, "%") == []
