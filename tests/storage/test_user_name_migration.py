"""Migration 0009 keeps users from before it: their stored name is the shown one."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from smp.storage import migrate
from smp.storage.migrate import alembic_config
from smp.storage.users import find_login, list_users


def test_users_from_before_0009_keep_their_name_and_sign_in(
    fresh_engine: Engine,
) -> None:
    config = alembic_config()
    with fresh_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0008")
        # In SQL: today's ORM table has a column a database at 0008 lacks.
        connection.execute(
            text(
                "INSERT INTO users (name, role, password_hash, created_at)"
                " VALUES ('zoë 山田', 'viewer', 'x', :t)"
            ),
            {"t": dt.datetime(2026, 11, 1)},
        )
    migrate(fresh_engine)
    with Session(fresh_engine) as session:
        assert [u.name for u in list_users(session)] == ["zoë 山田"]
        found = find_login(session, "Zoë  山田")
    assert found is not None
    assert found.user.name == "zoë 山田"
