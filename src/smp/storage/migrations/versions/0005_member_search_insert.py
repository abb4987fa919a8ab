"""member search (SQLite): new members are indexed in bulk, not by a trigger

Revision ID: 0005
Revises: 0004

The insert trigger of 0003 indexed members one row at a time, more than half
of a first sync's members write; `smp.storage.search.index_new_members` now
indexes each write's new members in one statement. The delete and update
triggers stay: they fire only for the members that go or change.
"""

from __future__ import annotations

from alembic import op

from smp.storage.search import FTS_TABLE

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INSERT_TRIGGER = "members_search_insert"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {INSERT_TRIGGER}")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql(
            f"CREATE TRIGGER {INSERT_TRIGGER} AFTER INSERT ON members BEGIN"
            f" INSERT INTO {FTS_TABLE}(rowid, search_text)"
            " VALUES (new.id, new.search_text); END"
        )
