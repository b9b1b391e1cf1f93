"""case routing

Revision ID: 0004_routing
Revises: 0003_risk
Create Date: 2026-11-22 19:13:03.248416
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.database

revision: str = "0004_routing"
down_revision: str | None = "0003_risk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalation_risk", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("churn_risk", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("customer_value", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("accepted_at", backend.core.database.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("requeue_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("sla_breached_at", backend.core.database.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_name", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("author_name")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("sla_breached_at")
        batch_op.drop_column("requeue_count")
        batch_op.drop_column("accepted_at")
        batch_op.drop_column("customer_value")
        batch_op.drop_column("churn_risk")
        batch_op.drop_column("escalation_risk")
