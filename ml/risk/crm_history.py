"""Whole CRM histories as labelled training frames, read through the same functions live scoring uses.

The per-customer and per-turn readers stay in backend/risk/crm.py (scoring needs them); what is only ever
read to train (every customer labelled by status, every conversation labelled by outcome) lives here, so the
web worker never loads it. Rows are built by backend/risk/features.py exactly as live scoring builds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.models import Case
from backend.conversations.models import Conversation
from backend.customers.models import Customer
from backend.risk.crm import customer_snapshots, turn_context, turns_until
from backend.risk.features import churn_features, escalation_features
from backend.risk.models import RiskScore

# ------------------------------------------------------------------------------------------ churn


async def churn_frame(session: AsyncSession, now: datetime) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Training rows from the CRM: every active or cancelled customer, labelled cancelled = churned.

    The schema records no cancellation date, so features are as of now for everyone; inactivity after a
    cancellation then looks like a warning sign it partly is not. Prefer dated snapshot exports
    (train_churn --csv) once the CRM keeps them.
    """
    snapshots = await customer_snapshots(session, now)
    labelled = [(c, s) for c, s in snapshots.values() if c.status in ("active", "cancelled")]
    X = pd.DataFrame([churn_features(s, now) for _, s in labelled])
    y = np.array([int(c.status == "cancelled") for c, _ in labelled], dtype=int)
    return X, y, np.array([c.id for c, _ in labelled])


async def count_churn_labels(session: AsyncSession) -> tuple[int, int]:
    """(active, cancelled) customers: whether the CRM can train a churn model yet."""
    query = select(Customer.status, func.count(Customer.id)).group_by(Customer.status)
    counts = dict((await session.execute(query)).all())
    return counts.get("active", 0), counts.get("cancelled", 0)


# ------------------------------------------------------------------------------------------ escalation


@dataclass
class Outcome:
    conversation: Conversation
    escalated: bool
    until: datetime | None  # turns after this moment (the hand-off) are not the bot's to predict


async def labelled_conversations(session: AsyncSession) -> list[Outcome]:
    """Conversations with a known outcome: escalated (a case was opened) or resolved by the bot."""
    query = select(Case.conversation_id, func.min(Case.created_at)).group_by(Case.conversation_id)
    first_case = dict((await session.execute(query)).all())
    outcomes = []
    for conversation in (await session.execute(select(Conversation))).scalars():
        if conversation.id in first_case:
            outcomes.append(Outcome(conversation, True, first_case[conversation.id]))
        elif conversation.status == "resolved":
            outcomes.append(Outcome(conversation, False, None))
    return outcomes


async def _latest_churn_before(session: AsyncSession, customer_id: int, moment: datetime) -> float | None:
    query = (
        select(RiskScore.score)
        .where(
            RiskScore.subject_type == "customer",
            RiskScore.subject_id == str(customer_id),
            RiskScore.kind == "churn",
            RiskScore.created_at <= moment,
        )
        .order_by(RiskScore.created_at.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def escalation_frame(session: AsyncSession) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Per-turn training rows from real conversations, labelled by outcome, grouped by conversation."""
    rows, labels, groups = [], [], []
    for outcome in await labelled_conversations(session):
        conversation = outcome.conversation
        turns = await turns_until(session, conversation.id, None)
        if outcome.until is not None:
            turns = [t for t in turns if t.at <= outcome.until]
        if not turns:
            continue
        churn = None
        if conversation.customer_id is not None:
            churn = await _latest_churn_before(session, conversation.customer_id, conversation.started_at)
        context = await turn_context(session, conversation, churn)
        for end in range(1, len(turns) + 1):
            rows.append(escalation_features(turns[:end], context))
            labels.append(int(outcome.escalated))
            groups.append(conversation.id)
    return pd.DataFrame(rows), np.array(labels, dtype=int), np.array(groups)
