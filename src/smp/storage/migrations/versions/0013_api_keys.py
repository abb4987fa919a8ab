"""API keys and teammate scopes: key inventory, scope history, teammate scopes

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def _integration(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["integration_id"],
        ["integrations.id"],
        name=op.f(f"fk_{table}_integration_id_integrations"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        _when("first_seen"),
        _when("last_seen"),
        _when("scopes_changed_at"),
        sa.Column("present", sa.Boolean(), nullable=False),
        _when("removed_at", nullable=True),
        _integration("api_keys"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint(
            "integration_id", "key_id", name=op.f("uq_api_keys_integration_id")
        ),
    )
    op.create_table(
        "api_key_scope_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        _when("seen_at"),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("added", sa.JSON(), nullable=False),
        sa.Column("removed", sa.JSON(), nullable=False),
        _integration("api_key_scope_changes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key_scope_changes")),
    )
    with op.batch_alter_table("api_key_scope_changes") as batch:
        batch.create_index(
            "ix_api_key_scope_changes_key",
            ["integration_id", "key_id", "id"],
            unique=False,
        )
    op.create_table(
        "teammate_scopes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("user_type", sa.String(length=16), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("two_factor_required", sa.Boolean(), nullable=False),
        sa.Column("two_factor_exempt", sa.Boolean(), nullable=False),
        _when("fetched_at"),
        _integration("teammate_scopes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teammate_scopes")),
        sa.UniqueConstraint(
            "integration_id",
            "username",
            name=op.f("uq_teammate_scopes_integration_id"),
        ),
    )
    with op.batch_alter_table("teammate_scopes") as batch:
        batch.create_index(
            "ix_teammate_scopes_fetched",
            ["integration_id", "fetched_at"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("teammate_scopes")
    op.drop_table("api_key_scope_changes")
    op.drop_table("api_keys")
