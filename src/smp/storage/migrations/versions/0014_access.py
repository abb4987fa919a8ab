"""SSO integrations and certificates, IP allowlist, access attempts, validation jobs

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def _owned(table: str) -> list[sa.schema.SchemaItem]:
    """integration (cascade), source key (set null), first seen and synced."""
    return [
        sa.Column("source_service_account_id", sa.Integer(), nullable=True),
        _when("first_seen"),
        _when("synced_at"),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f(f"fk_{table}_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_service_account_id"],
            ["service_accounts.id"],
            name=op.f(f"fk_{table}_source_service_account_id_service_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _start() -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "sso_integrations",
        *_start(),
        sa.Column("sso_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=True),
        _when("last_updated", nullable=True),
        *_owned("sso_integrations"),
        sa.UniqueConstraint(
            "integration_id", "sso_id", name=op.f("uq_sso_integrations_integration_id")
        ),
    )
    op.create_table(
        "sso_certificates",
        *_start(),
        sa.Column("sso_id", sa.String(length=100), nullable=False),
        sa.Column("cert_id", sa.String(length=100), nullable=False),
        _when("not_before", nullable=True),
        _when("not_after", nullable=True),
        *_owned("sso_certificates"),
        sa.UniqueConstraint(
            "integration_id",
            "sso_id",
            "cert_id",
            name=op.f("uq_sso_certificates_integration_id"),
        ),
    )
    op.create_table(
        "ip_allowlist",
        *_start(),
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("ip", sa.String(length=100), nullable=False),
        _when("created_at", nullable=True),
        _when("updated_at", nullable=True),
        *_owned("ip_allowlist"),
        sa.UniqueConstraint(
            "integration_id", "rule_id", name=op.f("uq_ip_allowlist_integration_id")
        ),
    )
    op.create_table(
        "access_attempts",
        *_start(),
        sa.Column("ip", sa.String(length=100), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("auth_method", sa.String(length=50), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        _when("first_at", nullable=True),
        _when("last_at", nullable=True),
        *_owned("access_attempts"),
        sa.UniqueConstraint(
            "integration_id", "ip", name=op.f("uq_access_attempts_integration_id")
        ),
    )
    with op.batch_alter_table("access_attempts") as batch:
        batch.create_index(
            "ix_access_attempts_last_at", ["integration_id", "last_at"], unique=False
        )
    op.create_table(
        "validation_jobs",
        *_start(),
        sa.Column("job_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=True),
        _when("started_at", nullable=True),
        _when("finished_at", nullable=True),
        sa.Column("segments", sa.BigInteger(), nullable=True),
        sa.Column("segments_processed", sa.BigInteger(), nullable=True),
        *_owned("validation_jobs"),
        sa.UniqueConstraint(
            "integration_id", "job_id", name=op.f("uq_validation_jobs_integration_id")
        ),
    )
    with op.batch_alter_table("validation_jobs") as batch:
        batch.create_index(
            "ix_validation_jobs_started",
            ["integration_id", "started_at"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("validation_jobs")
    op.drop_table("access_attempts")
    op.drop_table("ip_allowlist")
    op.drop_table("sso_certificates")
    op.drop_table("sso_integrations")
