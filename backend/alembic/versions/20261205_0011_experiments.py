"""experiments: experiments, assignments, customer values; customers' consent and contact preferences

Revision ID: 0011_experiments
Revises: 0010_assist
Create Date: 2026-12-05 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.database

revision: str = "0011_experiments"
down_revision: str | None = "0010_assist"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = backend.core.database.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("primary_outcome", sa.String(length=64), nullable=False),
        sa.Column("guardrails", sa.JSON(), nullable=False),
        sa.Column("baseline_rate", sa.Float(), nullable=False),
        sa.Column("minimum_effect", sa.Float(), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("power", sa.Float(), nullable=False),
        sa.Column("planned_per_arm", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("started_at", WHEN, nullable=True),
        sa.Column("stopped_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("key", name=op.f("uq_experiments_key")),
    )
    op.create_table(
        "experiment_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("assigned_at", WHEN, nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("outcome_at", WHEN, nullable=True),
        sa.Column("outcome_final", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name=op.f("fk_experiment_assignments_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_experiment_assignments_decision_id_decisions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_experiment_assignments_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"],
            name=op.f("fk_experiment_assignments_conversation_id_conversations"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_assignments")),
        sa.UniqueConstraint("experiment_id", "unit_id", name="uq_experiment_assignments_unit"),
    )  # fmt: skip
    op.create_index(
        op.f("ix_experiment_assignments_experiment_id"), "experiment_assignments", ["experiment_id"]
    )
    op.create_index("ix_experiment_assignments_pending", "experiment_assignments", ["outcome_final", "id"])
    op.create_table(
        "customer_values",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("monthly_retention", sa.Float(), nullable=False),
        sa.Column("horizon_months", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=128), nullable=False),
        sa.Column("computed_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_values_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_values")),
    )
    with op.batch_alter_table("customers") as batch:
        batch.add_column(
            sa.Column("marketing_consent", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("contact_channels", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
        batch.add_column(sa.Column("max_offers_per_month", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("max_offers_per_month")
        batch.drop_column("contact_channels")
        batch.drop_column("marketing_consent")
    op.drop_table("customer_values")
    op.drop_index("ix_experiment_assignments_pending", table_name="experiment_assignments")
    op.drop_index(op.f("ix_experiment_assignments_experiment_id"), table_name="experiment_assignments")
    op.drop_table("experiment_assignments")
    op.drop_table("experiments")
