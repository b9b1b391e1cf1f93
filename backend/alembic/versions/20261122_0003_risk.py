"""risk: served scores (risk_scores), drift bins and rollback lineage on model_versions

Reviewed after autogenerate: only the risk domain's tables; every score names its model version (no cascade:
a version with scores cannot be deleted, so history stays explainable).

Revision ID: 0003_risk
Revises: 0002_knowledge
Create Date: 2026-11-22 19:29:48.002451
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.database

revision: str = "0003_risk"
down_revision: str | None = "0002_knowledge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", backend.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_risk_scores_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_risk_scores_model_version_id_model_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_scores")),
    )
    with op.batch_alter_table("risk_scores", schema=None) as batch_op:
        batch_op.create_index(
            "ix_risk_scores_model_version", ["model_version_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_risk_scores_subject", ["subject_type", "subject_id", "kind", "created_at"], unique=False
        )

    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        # PSI bins of the training data, per feature and for the score (backend/risk/drift.py).
        batch_op.add_column(sa.Column("drift_reference", sa.JSON(), nullable=True))
        # The production version a promotion replaced: what a rollback restores.
        batch_op.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_model_versions_replaces_id_model_versions"),
            "model_versions",
            ["replaces_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_model_versions_replaces_id_model_versions"), type_="foreignkey"
        )
        batch_op.drop_column("replaces_id")
        batch_op.drop_column("drift_reference")

    with op.batch_alter_table("risk_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_scores_subject")
        batch_op.drop_index("ix_risk_scores_model_version")

    op.drop_table("risk_scores")
