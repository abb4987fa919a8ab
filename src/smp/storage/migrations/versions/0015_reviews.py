"""Access reviews: campaigns, their frozen items, an integration's review owner

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def _text(name: str, length: int, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("integrations") as batch:
        batch.add_column(_text("review_owner", 64))
    op.create_table(
        "review_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("name", 200, nullable=False),
        _text("name_key", 200, nullable=False),
        _text("status", 16, nullable=False),
        sa.Column("integration_ids", sa.JSON(), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        _text("reviewer_rule", 16, nullable=False),
        _text("created_by", 64),
        _when("created_at"),
        _text("signed_off_by", 64),
        _when("signed_off_at", nullable=True),
        _text("snapshot_sha256", 64, nullable=False),
        _when("reminded_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_campaigns")),
        sa.UniqueConstraint("name_key", name=op.f("uq_review_campaigns_name_key")),
    )
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        _text("account_kind", 16, nullable=False),
        _text("account_key", 320, nullable=False),
        _text("email", 320),
        _text("username", 200),
        _text("role", 16),
        sa.Column("scopes", sa.JSON(), nullable=True),
        sa.Column("is_sso", sa.Boolean(), nullable=True),
        sa.Column("two_fa", sa.JSON(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        _text("person_name", 400),
        _text("department", 200),
        _text("manager_email", 320),
        _text("classification", 24, nullable=False),
        sa.Column("open_findings", sa.JSON(), nullable=False),
        _text("reviewer", 64),
        _text("decision", 8),
        _text("new_role", 16),
        sa.Column("reason", sa.Text(), nullable=True),
        _text("decided_by", 64),
        _when("decided_at", nullable=True),
        _text("remediation", 16, nullable=False),
        _when("remediation_checked_at", nullable=True),
        _when("remediation_verified_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["review_campaigns.id"],
            name=op.f("fk_review_items_campaign_id_review_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
    )
    with op.batch_alter_table("review_items") as batch:
        batch.create_index(
            "ix_review_items_campaign", ["campaign_id", "id"], unique=False
        )
        batch.create_index(
            "ix_review_items_reviewer", ["campaign_id", "reviewer"], unique=False
        )
        batch.create_index(
            "ix_review_items_decision", ["campaign_id", "decision"], unique=False
        )


def downgrade() -> None:
    op.drop_table("review_items")
    op.drop_table("review_campaigns")
    with op.batch_alter_table("integrations") as batch:
        batch.drop_column("review_owner")
