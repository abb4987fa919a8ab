"""integrations: who confirmed that the billing key is this account's, and when

Revision ID: 0007
Revises: 0006

SendGrid does not let a billing-only key tell which account it belongs to, so a
person vouches for it when it is added; both columns stay null until then.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("integrations") as batch:
        batch.add_column(
            sa.Column("billing_confirmed_by", sa.String(length=200), nullable=True)
        )
        batch.add_column(
            sa.Column("billing_confirmed_at", sa.DateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("integrations") as batch:
        batch.drop_column("billing_confirmed_at")
        batch.drop_column("billing_confirmed_by")
