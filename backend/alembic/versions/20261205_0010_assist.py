"""assist: macros and knowledge-gap clusters

Revision ID: 0010_assist
Revises: 0009_automation
Create Date: 2026-12-05 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.database

revision: str = "0010_assist"
down_revision: str | None = "0009_automation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = backend.core.database.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "assist_macros",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("team", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("add_tags", sa.JSON(), nullable=False),
        sa.Column("set_priority", sa.Float(), nullable=True),
        sa.Column("resolve_disposition", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assist_macros")),
        sa.UniqueConstraint("team", "name", name="uq_assist_macros_team_name"),
    )
    op.create_table(
        "assist_gap_clusters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_at", WHEN, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("examples", sa.JSON(), nullable=False),
        sa.Column("replies", sa.JSON(), nullable=False),
        sa.Column("article_slug", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assist_gap_clusters")),
    )
    op.create_index(op.f("ix_assist_gap_clusters_run_at"), "assist_gap_clusters", ["run_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_assist_gap_clusters_run_at"), table_name="assist_gap_clusters")
    op.drop_table("assist_gap_clusters")
    op.drop_table("assist_macros")
