"""analytics minute buckets, and an index for the idle-conversation sweep

Revision ID: 0006_analytics
Revises: 0005_citations
Create Date: 2026-12-01 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.database

revision: str = "0006_analytics"
down_revision: str | None = "0005_citations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_buckets",
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("squares", sa.Float(), nullable=False),
        sa.Column("updated_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("minute", "metric", "key", name=op.f("pk_analytics_buckets")),
    )
    with op.batch_alter_table("analytics_buckets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analytics_buckets_updated_at"), ["updated_at"], unique=False)
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index("ix_conversations_status_last_message", ["status", "last_message_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_status_last_message")
    with op.batch_alter_table("analytics_buckets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_buckets_updated_at"))
    op.drop_table("analytics_buckets")
