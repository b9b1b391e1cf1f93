"""guest_order_checks: an anonymous visitor's e-mail checked against an order's, matched or not (no address)

Revision ID: 0016_guest_order_checks
Revises: 0015_analytics_applied_events
Create Date: 2026-12-07 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.database

revision: str = "0016_guest_order_checks"
down_revision: str | None = "0015_analytics_applied_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = backend.core.database.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "guest_order_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("checked_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"],
            name=op.f("fk_guest_order_checks_conversation_id_conversations"), ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guest_order_checks")),
    )
    with op.batch_alter_table("guest_order_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_guest_order_checks_conversation_id"), ["conversation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("guest_order_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guest_order_checks_conversation_id"))
    op.drop_table("guest_order_checks")
