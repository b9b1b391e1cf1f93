"""Automation rules: a rule row, its immutable versions, what each firing did, and the exception queue.

A rule is edited by adding a version, never by changing one: the decision log and the dry-run both name the
version they ran, so a version's definition must stay what it was. The rule row points at the version that is
live (`active_version_id`); rollback moves the pointer back. Tags that rules add live here too: they are
labels for people and rules, not part of a conversation's lifecycle state.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.database import Base, utcnow


class Rule(Base):
    __tablename__ = "automation_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    # The live version; None until the first version exists. Not a foreign key: versions point at the rule,
    # and a circle of foreign keys would make SQLite's table order matter.
    active_version_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleVersion(Base):
    __tablename__ = "automation_rule_versions"
    __table_args__ = (UniqueConstraint("rule_id", "number", name="uq_automation_rule_versions_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rules.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    # The validated RuleDefinition (schemas.py) as JSON: trigger, conditions, actions, calendar.
    definition: Mapped[dict]
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by the dry-run: a version cannot be enabled before someone saw what it would have done.
    dry_run_at: Mapped[datetime | None]
    dry_run_summary: Mapped[dict | None]


class Firing(Base):
    """One planned action of one rule for one event, run or blocked. The ledger the guardrails count
    (actions per conversation per hour, contacts per customer per day), and with its unique key the reason
    an event never makes the same action run twice, whichever rules planned it, on any number of workers."""

    __tablename__ = "automation_firings"
    __table_args__ = (
        UniqueConstraint("event_key", "fingerprint", name="uq_automation_firings_event_action"),
        Index("ix_automation_firings_conversation_at", "conversation_id", "at"),
        Index("ix_automation_firings_customer_at", "customer_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rules.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("automation_rule_versions.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(String(200))
    action_index: Mapped[int]
    # The action itself, hashed: the same action planned by two rules for one event runs once.
    fingerprint: Mapped[str] = mapped_column(String(64))
    action_type: Mapped[str] = mapped_column(String(32))
    contact: Mapped[bool] = mapped_column(default=False)  # reached the customer (counted by the contact cap)
    outcome: Mapped[str] = mapped_column(String(16))  # done, blocked, failed
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AutomationException(Base):
    """A blocked or failed action, waiting for a supervisor: retry it (guardrails are not asked again: a
    person decided) or dismiss it."""

    __tablename__ = "automation_exceptions"
    __table_args__ = (Index("ix_automation_exceptions_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rules.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("automation_rule_versions.id", ondelete="CASCADE"))
    firing_id: Mapped[int | None] = mapped_column(ForeignKey("automation_firings.id", ondelete="SET NULL"))
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    action: Mapped[dict]
    event: Mapped[dict]
    kind: Mapped[str] = mapped_column(String(16))  # blocked (a guardrail), failed (the action raised)
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open, done, dismissed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_by: Mapped[str | None] = mapped_column(String(320))
    handled_at: Mapped[datetime | None]


class ConversationTag(Base):
    __tablename__ = "automation_tags"
    __table_args__ = (UniqueConstraint("conversation_id", "tag", name="uq_automation_tags_conversation_tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    tag: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
