"""member events: the integration's baseline event; members sort by first seen

Revision ID: 0006
Revises: 0005

An integration's first listings now make one `baseline` event (its counts in
`members_found`, `invites_found`), which belongs to no member: `member_id`
and `member_key` become nullable; each write finds it by an index on kind.
Members are no longer sorted by `last_seen` (sync bookkeeping, not activity),
so its index makes way for one on `first_seen`. The members table keeps its
search triggers: its indexes change without a batch rebuild.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member_events") as batch:
        batch.alter_column("member_id", existing_type=sa.Integer(), nullable=True)
        batch.alter_column(
            "member_key", existing_type=sa.String(length=320), nullable=True
        )
        batch.add_column(sa.Column("members_found", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("invites_found", sa.Integer(), nullable=True))
    # Every members or invites write looks for the baseline by its kind.
    op.create_index(
        "ix_member_events_kind", "member_events", ["integration_id", "kind"]
    )
    op.drop_index("ix_members_last_seen", table_name="members")
    op.create_index(
        "ix_members_first_seen", "members", ["integration_id", "first_seen"]
    )


def downgrade() -> None:
    op.drop_index("ix_member_events_kind", table_name="member_events")
    op.drop_index("ix_members_first_seen", table_name="members")
    op.create_index("ix_members_last_seen", "members", ["integration_id", "last_seen"])
    op.execute("DELETE FROM member_events WHERE member_id IS NULL")
    with op.batch_alter_table("member_events") as batch:
        batch.drop_column("invites_found")
        batch.drop_column("members_found")
        batch.alter_column(
            "member_key", existing_type=sa.String(length=320), nullable=False
        )
        batch.alter_column("member_id", existing_type=sa.Integer(), nullable=False)
