"""people: directory, company domains, manual links, account classes, SCIM tokens

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("employee_id", sa.String(length=100), nullable=True),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("last_name", sa.String(length=200), nullable=True),
        sa.Column("department", sa.String(length=200), nullable=True),
        sa.Column("manager_email", sa.String(length=320), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("aliases", sa.JSON(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        _when("terminated_at", nullable=True),
        sa.Column("scim_user_name", sa.String(length=320), nullable=True),
        sa.Column("scim_resource", sa.JSON(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint("scim_user_name", name=op.f("uq_people_scim_user_name")),
    )
    with op.batch_alter_table("people") as batch:
        batch.create_index("ix_people_email_key", ["email_key"], unique=False)
        batch.create_index("ix_people_source", ["source", "email_key"], unique=False)
        batch.create_index("ix_people_status", ["status"], unique=False)
    op.create_table(
        "company_domains",
        sa.Column("domain", sa.String(length=253), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_company_domains")),
    )
    op.create_table(
        "account_links",
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_account_links_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("email_key", name=op.f("pk_account_links")),
    )
    op.create_table(
        "account_classifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("account_key", sa.String(length=320), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_key", sa.String(length=320), nullable=True),
        sa.Column("username", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("matched_by", sa.String(length=16), nullable=True),
        sa.Column("classification", sa.String(length=24), nullable=False),
        sa.Column("ambiguity", sa.Text(), nullable=True),
        sa.Column("present", sa.Boolean(), nullable=False),
        _when("leaver_since", nullable=True),
        _when("removed_at", nullable=True),
        sa.Column("offboarding_lag_s", sa.BigInteger(), nullable=True),
        _when("updated_at"),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_account_classifications_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_account_classifications_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_classifications")),
        sa.UniqueConstraint(
            "integration_id",
            "kind",
            "account_key",
            name=op.f("uq_account_classifications_integration_id"),
        ),
    )
    with op.batch_alter_table("account_classifications") as batch:
        batch.create_index(
            "ix_account_classifications_class",
            ["present", "classification", "id"],
            unique=False,
        )
        batch.create_index(
            "ix_account_classifications_person", ["person_id"], unique=False
        )
        batch.create_index(
            "ix_account_classifications_email_key", ["email_key"], unique=False
        )
    op.create_table(
        "scim_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        _when("created_at"),
        _when("last_used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_scim_tokens_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("scim_tokens")
    op.drop_table("account_classifications")
    op.drop_table("account_links")
    op.drop_table("company_domains")
    op.drop_table("people")
