"""analytics_applied_events: Rasa events from RabbitMQ already counted, so a redelivery is not counted twice

Revision ID: 0015_analytics_applied_events
Revises: 0014_leads
Create Date: 2026-12-05 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.database

revision: str = "0015_analytics_applied_events"
down_revision: str | None = "0014_leads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = backend.core.database.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "analytics_applied_events",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("applied_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_analytics_applied_events")),
    )
    with op.batch_alter_table("analytics_applied_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_analytics_applied_events_applied_at"), ["applied_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("analytics_applied_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_applied_events_applied_at"))
    op.drop_table("analytics_applied_events")
