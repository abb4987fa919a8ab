"""users: the name as typed (display_name) beside the lower-case key in name

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("display_name", sa.String(length=64)))
    # Names were stored lower-cased until now: that is the only form there is.
    op.execute("UPDATE users SET display_name = name")
    with op.batch_alter_table("users") as batch:
        batch.alter_column(
            "display_name", existing_type=sa.String(length=64), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("display_name")
