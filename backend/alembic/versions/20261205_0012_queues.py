"""queues: the agent a case was taken from for not replying in time (it goes to the next agent)

Revision ID: 0012_queues
Revises: 0011_experiments
Create Date: 2026-12-05 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_queues"
down_revision: str | None = "0011_experiments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a foreign key to an existing table in place.
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("passed_over_agent_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_cases_passed_over_agent_id_agents",
            "agents",
            ["passed_over_agent_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint("fk_cases_passed_over_agent_id_agents", type_="foreignkey")
        batch.drop_column("passed_over_agent_id")
