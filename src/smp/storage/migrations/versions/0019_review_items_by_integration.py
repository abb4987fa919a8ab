"""Review items: an index for one integration's decisions

After each sync of an integration, SMP checks its revoke and modify decisions
against what the sync stored. Without an index on the integration that check
read every item of every campaign, on every sync, and campaigns are kept for
good.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_review_items_integration",
        "review_items",
        ["integration_id", "decision"],
    )


def downgrade() -> None:
    op.drop_index("ix_review_items_integration", table_name="review_items")
