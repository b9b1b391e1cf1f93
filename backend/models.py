"""Imports every domain's models so that Base.metadata is complete (for Alembic and table creation)."""

from backend.agents.models import Agent
from backend.analytics.models import AnalyticsAppliedEvent, AnalyticsBucket
from backend.assist.models import GapCluster, Macro
from backend.audit.models import AuditEvent
from backend.automation.models import AutomationException, ConversationTag, Firing, Rule, RuleVersion
from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.core.database import Base
from backend.customers.models import Customer, GuestOrderCheck, Order
from backend.decisions.models import Decision
from backend.experiments.models import Assignment, CustomerValue, Experiment
from backend.kb.models import Article, ArticleVersion
from backend.leads.models import Lead
from backend.privacy.models import CustomerErasure, TrackerErasure
from backend.risk.models import ModelVersion

__all__ = [
    "Agent",
    "AnalyticsAppliedEvent",
    "AnalyticsBucket",
    "Article",
    "ArticleVersion",
    "Assignment",
    "AuditEvent",
    "AutomationException",
    "Base",
    "Case",
    "Conversation",
    "ConversationTag",
    "Customer",
    "CustomerErasure",
    "CustomerValue",
    "Decision",
    "Experiment",
    "Firing",
    "GapCluster",
    "GuestOrderCheck",
    "Lead",
    "Macro",
    "Message",
    "ModelVersion",
    "Order",
    "Rule",
    "RuleVersion",
    "TrackerErasure",
]
