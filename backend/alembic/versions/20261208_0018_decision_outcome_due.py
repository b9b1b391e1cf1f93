"""decision_outcome_due: when a pending decision's outcome is next refreshed (backend/decisions/outcomes.py)

Revision ID: 0018_decision_outcome_due
Revises: 0017_message_embeddings
Create Date: 2026-12-08 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.database

revision: str = "0018_decision_outcome_due"
down_revision: str | None = "0017_message_embeddings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = backend.core.database.UTCDateTime(timezone=True)


def upgrade() -> None:
    # NULL: due at once, as every row written before this column was.
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome_due_at", WHEN, nullable=True))
        batch_op.create_index("ix_decisions_outcome_due", ["outcome_final", "outcome_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_outcome_due")
        batch_op.drop_column("outcome_due_at")
