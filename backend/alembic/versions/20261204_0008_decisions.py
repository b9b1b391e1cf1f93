"""decisions: the decision log (evidence, outcome, feedback, overrides)

Revision ID: 0008_decisions
Revises: 0007_privacy
Create Date: 2026-12-04 23:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.database

revision: str = "0008_decisions"
down_revision: str | None = "0007_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = backend.core.database.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("fallback", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("outcome_at", WHEN, nullable=True),
        sa.Column("outcome_final", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("feedback_label", sa.String(length=16), nullable=True),
        sa.Column("feedback_note", sa.Text(), nullable=True),
        sa.Column("feedback_by", sa.String(length=320), nullable=True),
        sa.Column("feedback_at", WHEN, nullable=True),
        sa.Column("reviewed_by", sa.String(length=320), nullable=True),
        sa.Column("reviewed_at", WHEN, nullable=True),
        sa.Column("overrides_decision_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_decisions_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_decisions_case_id_cases"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_decisions_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_decisions_message_id_messages"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["overrides_decision_id"],
            ["decisions.id"],
            name=op.f("fk_decisions_overrides_decision_id_decisions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index("ix_decisions_kind_created_at", "decisions", ["kind", "created_at"])
    op.create_index("ix_decisions_outcome_pending", "decisions", ["outcome_final", "id"])
    op.create_index(op.f("ix_decisions_conversation_id"), "decisions", ["conversation_id"])
    op.create_index(op.f("ix_decisions_case_id"), "decisions", ["case_id"])
    op.create_index(op.f("ix_decisions_overrides_decision_id"), "decisions", ["overrides_decision_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_decisions_overrides_decision_id"), table_name="decisions")
    op.drop_index(op.f("ix_decisions_case_id"), table_name="decisions")
    op.drop_index(op.f("ix_decisions_conversation_id"), table_name="decisions")
    op.drop_index("ix_decisions_outcome_pending", table_name="decisions")
    op.drop_index("ix_decisions_kind_created_at", table_name="decisions")
    op.drop_table("decisions")
