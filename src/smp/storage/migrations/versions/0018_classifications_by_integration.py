"""Account classifications: an index for one integration's flagged accounts

The findings of an integration are evaluated after each of its syncs. Their
query of its leavers and externals took the (present, classification) index,
which SQLite walks over every integration's accounts: 100 syncs of 1,000
teammates each read the whole table 100 times and mapped it into memory.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_account_classifications_integration",
        "account_classifications",
        ["integration_id", "present", "classification"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_account_classifications_integration",
        table_name="account_classifications",
    )
