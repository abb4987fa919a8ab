"""findings: findings, their events, thresholds and posture scores

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
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
        "findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("subject_key", sa.String(length=320), nullable=False),
        sa.Column("subject_label", sa.String(length=320), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        _when("first_seen"),
        _when("last_seen"),
        _when("resolved_at", nullable=True),
        _when("snoozed_until", nullable=True),
        sa.Column("episode", sa.Integer(), server_default="1", nullable=False),
        _when("episode_opened_at"),
        _when("status_changed_at"),
        sa.Column("status_by", sa.String(length=64), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        _integration("findings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
        sa.UniqueConstraint(
            "integration_id",
            "rule",
            "subject_key",
            name=op.f("uq_findings_integration_id"),
        ),
    )
    with op.batch_alter_table("findings") as batch:
        batch.create_index(
            "ix_findings_status", ["status", "severity", "id"], unique=False
        )
        batch.create_index(
            "ix_findings_integration_status",
            ["integration_id", "status"],
            unique=False,
        )
    op.create_table(
        "finding_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        _when("snoozed_until", nullable=True),
        _when("occurred_at"),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["findings.id"],
            name=op.f("fk_finding_events_finding_id_findings"),
            ondelete="CASCADE",
        ),
        _integration("finding_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_events")),
    )
    with op.batch_alter_table("finding_events") as batch:
        batch.create_index(
            "ix_finding_events_finding", ["finding_id", "id"], unique=False
        )
        batch.create_index(
            "ix_finding_events_integration", ["integration_id"], unique=False
        )
    op.create_table(
        "finding_threshold_defaults",
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        _when("updated_at"),
        sa.PrimaryKeyConstraint(
            "rule", "name", name=op.f("pk_finding_threshold_defaults")
        ),
    )
    op.create_table(
        "finding_threshold_overrides",
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        _when("updated_at"),
        _integration("finding_threshold_overrides"),
        sa.PrimaryKeyConstraint(
            "integration_id",
            "rule",
            "name",
            name=op.f("pk_finding_threshold_overrides"),
        ),
    )
    op.create_table(
        "posture_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        _when("evaluated_at"),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("high", sa.Integer(), nullable=False),
        sa.Column("medium", sa.Integer(), nullable=False),
        sa.Column("low", sa.Integer(), nullable=False),
        _integration("posture_scores"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posture_scores")),
    )
    with op.batch_alter_table("posture_scores") as batch:
        batch.create_index(
            "ix_posture_scores_integration",
            ["integration_id", "evaluated_at"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("posture_scores")
    op.drop_table("finding_threshold_overrides")
    op.drop_table("finding_threshold_defaults")
    op.drop_table("finding_events")
    op.drop_table("findings")
