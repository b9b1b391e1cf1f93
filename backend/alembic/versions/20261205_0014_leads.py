"""leads: sales leads with their conversion score, reasons and outcome (backend/leads/)

Revision ID: 0014_leads
Revises: 0013_csat_answers
Create Date: 2026-12-05 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.database

revision: str = "0014_leads"
down_revision: str | None = "0013_csat_answers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = backend.core.database.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("source_message_id", sa.Integer(), nullable=True),
        sa.Column("source_intent", sa.String(length=64), nullable=False),
        sa.Column("interest", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rules_score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=False),
        sa.Column("routed_to", sa.String(length=32), nullable=True),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.Column("status_by", sa.String(length=320), nullable=True),
        sa.Column("contacted_at", WHEN, nullable=True),
        sa.Column("outcome_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_leads_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_leads_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_message_id"], ["messages.id"], name=op.f("fk_leads_source_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_leads_decision_id_decisions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("conversation_id", name="uq_leads_conversation_id"),
    )  # fmt: skip
    op.create_index(op.f("ix_leads_customer_id"), "leads", ["customer_id"])
    op.create_index("ix_leads_status_created_at", "leads", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_leads_status_created_at", table_name="leads")
    op.drop_index(op.f("ix_leads_customer_id"), table_name="leads")
    op.drop_table("leads")
