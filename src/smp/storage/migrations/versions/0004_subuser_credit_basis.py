"""subusers: when their credits were read, and the month figures they match

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subusers") as batch:
        batch.add_column(sa.Column("credits_read_at", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("credits_basis", sa.String(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("subusers") as batch:
        batch.drop_column("credits_basis")
        batch.drop_column("credits_read_at")
