"""message citations: the knowledge articles a bot answer cites, shown as links in the widget

Revision ID: 0005_citations
Revises: 0004_routing
Create Date: 2026-11-22 21:47:14.788989
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_citations"
down_revision: str | None = "0004_routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("citations", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("citations")
