"""automation: rules, immutable rule versions, firings ledger, exception queue, conversation tags

Revision ID: 0009_automation
Revises: 0008_decisions
Create Date: 2026-12-05 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.core.database

revision: str = "0009_automation"
down_revision: str | None = "0008_decisions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = backend.core.database.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "automation_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("active_version_id", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_automation_rules_name")),
    )
    op.create_table(
        "automation_rule_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("dry_run_at", WHEN, nullable=True),
        sa.Column("dry_run_summary", sa.JSON(), nullable=True),
        _fk("automation_rule_versions", "rule_id", "automation_rules", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_rule_versions")),
        sa.UniqueConstraint("rule_id", "number", name="uq_automation_rule_versions_number"),
    )
    op.create_index(op.f("ix_automation_rule_versions_rule_id"), "automation_rule_versions", ["rule_id"])
    op.create_table(
        "automation_firings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("action_index", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("action_type", sa.String(length=32), nullable=False),
        sa.Column("contact", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("at", WHEN, nullable=False),
        _fk("automation_firings", "rule_id", "automation_rules", "CASCADE"),
        _fk("automation_firings", "version_id", "automation_rule_versions", "CASCADE"),
        _fk("automation_firings", "conversation_id", "conversations", "SET NULL"),
        _fk("automation_firings", "customer_id", "customers", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_firings")),
        sa.UniqueConstraint("event_key", "fingerprint", name="uq_automation_firings_event_action"),
    )
    op.create_index("ix_automation_firings_conversation_at", "automation_firings", ["conversation_id", "at"])
    op.create_index("ix_automation_firings_customer_at", "automation_firings", ["customer_id", "at"])
    op.create_table(
        "automation_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("firing_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.JSON(), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("handled_by", sa.String(length=320), nullable=True),
        sa.Column("handled_at", WHEN, nullable=True),
        _fk("automation_exceptions", "rule_id", "automation_rules", "CASCADE"),
        _fk("automation_exceptions", "version_id", "automation_rule_versions", "CASCADE"),
        _fk("automation_exceptions", "firing_id", "automation_firings", "SET NULL"),
        _fk("automation_exceptions", "conversation_id", "conversations", "SET NULL"),
        _fk("automation_exceptions", "case_id", "cases", "SET NULL"),
        _fk("automation_exceptions", "customer_id", "customers", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_exceptions")),
    )
    op.create_index("ix_automation_exceptions_state_id", "automation_exceptions", ["state", "id"])
    op.create_table(
        "automation_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _fk("automation_tags", "conversation_id", "conversations", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_tags")),
        sa.UniqueConstraint("conversation_id", "tag", name="uq_automation_tags_conversation_tag"),
    )
    op.create_index(op.f("ix_automation_tags_conversation_id"), "automation_tags", ["conversation_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_automation_tags_conversation_id"), table_name="automation_tags")
    op.drop_table("automation_tags")
    op.drop_index("ix_automation_exceptions_state_id", table_name="automation_exceptions")
    op.drop_table("automation_exceptions")
    op.drop_index("ix_automation_firings_customer_at", table_name="automation_firings")
    op.drop_index("ix_automation_firings_conversation_at", table_name="automation_firings")
    op.drop_table("automation_firings")
    op.drop_index(op.f("ix_automation_rule_versions_rule_id"), table_name="automation_rule_versions")
    op.drop_table("automation_rule_versions")
    op.drop_table("automation_rules")
