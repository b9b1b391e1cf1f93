"""csat answers: the survey's questions after the satisfaction score (backend/cases/csat.py)

Revision ID: 0013_csat_answers
Revises: 0012_queues
Create Date: 2026-12-05 03:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_csat_answers"
down_revision: str | None = "0012_queues"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column needs no table rebuild, on SQLite either.
    op.add_column("cases", sa.Column("csat_answers", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("csat_answers")
