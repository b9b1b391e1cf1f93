"""privacy: redacted message copies, transcript erasure marks, erasure receipts, pending tracker erasures

Revision ID: 0007_privacy
Revises: 0006_analytics
Create Date: 2026-12-01 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.database

revision: str = "0007_privacy"
down_revision: str | None = "0006_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNREDACTED = sa.text("text_redacted IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_redacted", sa.Text(), nullable=True))
    # Existing messages are all unredacted: the privacy worker backfills them through this index.
    op.create_index(
        "ix_messages_unredacted", "messages", ["id"], sqlite_where=UNREDACTED, postgresql_where=UNREDACTED
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("transcript_erased_at", backend.core.database.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "customer_erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("erased_by", sa.String(length=320), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("erased_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_erasures_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_erasures")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_customer_erasures_customer_id")),
    )
    op.create_table(
        "tracker_erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("requested_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", backend.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracker_erasures")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_tracker_erasures_conversation_id")),
    )
    op.create_index(
        op.f("ix_tracker_erasures_completed_at"), "tracker_erasures", ["completed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_tracker_erasures_completed_at"), table_name="tracker_erasures")
    op.drop_table("tracker_erasures")
    op.drop_table("customer_erasures")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("transcript_erased_at")
    op.drop_index("ix_messages_unredacted", table_name="messages")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("text_redacted")
