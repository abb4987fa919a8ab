"""member search: members.search_text, FTS5 trigram (SQLite) or pg_trgm GIN index

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import DBAPIError

from smp.storage.search import FTS_TABLE, TRIGRAM_INDEX, search_text

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger("smp.storage")

BATCH = 1000

# External content: the index reads members.search_text, triggers keep it in
# step. A later batch migration that rebuilds `members` must recreate these.
SQLITE_DDL = [
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(search_text, content='members',"
    " content_rowid='id', tokenize='trigram case_sensitive 1')",
    f"CREATE TRIGGER members_search_insert AFTER INSERT ON members BEGIN"
    f" INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text);"
    " END",
    f"CREATE TRIGGER members_search_delete AFTER DELETE ON members BEGIN"
    f" INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER members_search_update AFTER UPDATE OF search_text ON members"
    " WHEN old.search_text IS NOT new.search_text BEGIN"
    f" INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text);"
    f" INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text);"
    " END",
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
]
TRIGGERS = ("members_search_insert", "members_search_delete", "members_search_update")


def _backfill(bind: sa.Connection) -> None:
    members = sa.table(
        "members",
        sa.column("id"),
        sa.column("member_key"),
        sa.column("username"),
        sa.column("first_name"),
        sa.column("last_name"),
        sa.column("search_text"),
    )
    rows = bind.execute(
        sa.select(
            members.c.id,
            members.c.member_key,
            members.c.username,
            members.c.first_name,
            members.c.last_name,
        )
    ).all()
    update = (
        sa.update(members)
        .where(members.c.id == sa.bindparam("row_id"))
        .values(search_text=sa.bindparam("text"))
    )
    for start in range(0, len(rows), BATCH):
        bind.execute(
            update,
            [
                {"row_id": row[0], "text": search_text(*row[1:])}
                for row in rows[start : start + BATCH]
            ],
        )


def _trigram_index(bind: sa.Connection) -> None:
    """pg_trgm's GIN index, or a warning: search still works, by scanning."""
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as error:
        log.warning(
            "member search has no trigram index: CREATE EXTENSION pg_trgm was "
            "refused (%s). Search still works, scanning each integration's "
            "members. To add the index, a superuser runs: CREATE EXTENSION "
            "pg_trgm; CREATE INDEX %s ON members USING gin (search_text "
            "gin_trgm_ops);",
            str(error.orig).strip().splitlines()[0],
            TRIGRAM_INDEX,
        )
        return
    # The extension may live in another schema than SMP's tables.
    schema = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n"
        " ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
    ).scalar_one()
    quoted = bind.dialect.identifier_preparer.quote_identifier(schema)
    bind.exec_driver_sql(
        f"CREATE INDEX {TRIGRAM_INDEX} ON members"
        f" USING gin (search_text {quoted}.gin_trgm_ops)"
    )


def upgrade() -> None:
    op.add_column(
        "members",
        sa.Column("search_text", sa.Text(), server_default="", nullable=False),
    )
    bind = op.get_bind()
    _backfill(bind)
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_DDL:
            bind.exec_driver_sql(statement)
    else:
        _trigram_index(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in TRIGGERS:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        bind.exec_driver_sql(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    else:
        bind.exec_driver_sql(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("search_text")
