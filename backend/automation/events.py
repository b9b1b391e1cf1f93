"""Where automation events come from: the stored rows (dry-run replay, and the sweep of time-based
triggers) and the live analytics events (the engine's sink).

Every event gets the same key whichever way it is found, e.g. `message:42` for a customer message, whether
the hub just published it or a dry-run replays it; the firings ledger is keyed by it, so the dry-run and the
live engine agree on what is "the same event", and a sweep that finds one again does nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.automation.evaluator import AutomationEvent, CompiledRule
from backend.cases.models import Case
from backend.conversations.models import Conversation, Message

SCORE_COLUMNS = {"escalation_score": Case.escalation_risk, "churn_score": Case.churn_risk}


def message_event(message: Message, customer_id: int | None, origin: int | None = None) -> AutomationEvent:
    return AutomationEvent(
        "message_received", message.created_at, f"message:{message.id}", message.conversation_id,
        customer_id=customer_id, message_id=message.id, origin_rule_id=origin,
    )  # fmt: skip


def opened_event(conversation: Conversation, origin: int | None = None) -> AutomationEvent:
    return AutomationEvent(
        "conversation_opened", conversation.started_at, f"opened:{conversation.id}", conversation.id,
        customer_id=conversation.customer_id, origin_rule_id=origin,
    )  # fmt: skip


def case_event(trigger: str, case: Case, at: datetime, origin: int | None = None) -> AutomationEvent:
    return AutomationEvent(
        trigger, at, f"{trigger}:{case.id}", case.conversation_id, case_id=case.id,
        customer_id=case.customer_id, origin_rule_id=origin,
    )  # fmt: skip


def waiting_event(case: Case, minutes: int) -> AutomationEvent:
    return AutomationEvent(
        "case_waiting", case.created_at + timedelta(minutes=minutes), f"case_waiting:{case.id}:{minutes}",
        case.conversation_id, case_id=case.id, customer_id=case.customer_id, minutes=minutes,
    )  # fmt: skip


def sla_event(case: Case, percent: int) -> AutomationEvent | None:
    """The moment `percent` of the case's first-response time was used up (None: the case has no SLA)."""
    if case.sla_due_at is None:
        return None
    at = case.created_at + (case.sla_due_at - case.created_at) * percent / 100
    return AutomationEvent(
        "first_response_sla", at, f"first_response_sla:{case.id}:{percent}", case.conversation_id,
        case_id=case.id, customer_id=case.customer_id, percent=percent,
    )  # fmt: skip


def _unanswered_at(case: Case, event: AutomationEvent | None) -> AutomationEvent | None:
    """The event if the case still had no reply (and was open) at its time."""
    if event is None:
        return None
    answered = case.first_response_at or case.resolved_at
    return event if answered is None or answered > event.at else None


def _percents(rules: Iterable[CompiledRule]) -> set[int]:
    triggers = (rule.definition.trigger for rule in rules)
    return {t.percent for t in triggers if t.type == "first_response_sla" and t.percent is not None}


def idle_event(
    conversation_id: str, customer_id: int | None, last: datetime, minutes: int
) -> AutomationEvent:
    return AutomationEvent(
        "conversation_idle", last + timedelta(minutes=minutes),
        f"conversation_idle:{conversation_id}:{last.isoformat()}:{minutes}", conversation_id,
        customer_id=customer_id, minutes=minutes,
    )  # fmt: skip


def score_event(case: Case, score: str, threshold: float) -> AutomationEvent:
    return AutomationEvent(
        "score_crossed", case.created_at, f"score_crossed:{case.id}:{score}:{threshold:g}",
        case.conversation_id, case_id=case.id, customer_id=case.customer_id, score=score, threshold=threshold,
    )  # fmt: skip


def _timed(rules: Iterable[CompiledRule], trigger: str) -> set[int]:
    triggers = (rule.definition.trigger for rule in rules)
    return {t.minutes for t in triggers if t.type == trigger and t.minutes is not None}


def _scores(rules: Iterable[CompiledRule]) -> set[tuple[str, float]]:
    out = set()
    for rule in rules:
        trigger = rule.definition.trigger
        if trigger.type == "score_crossed" and trigger.score and trigger.threshold is not None:
            out.add((trigger.score, trigger.threshold))
    return out


# ------------------------------------------------------------------------------------------- replay


async def replay(
    session: AsyncSession, since: datetime, until: datetime, rules: list[CompiledRule]
) -> list[AutomationEvent]:
    """Every event of [since, until) the stored rows show, oldest first, for the triggers `rules` use.
    Timed events are included only once their time has come (before `until`)."""
    triggers = {rule.definition.trigger.type for rule in rules}
    found: list[AutomationEvent] = []
    if "conversation_opened" in triggers:
        query = select(Conversation).where(Conversation.started_at >= since, Conversation.started_at < until)
        found += [opened_event(c) for c in (await session.execute(query)).scalars()]
    if "message_received" in triggers:
        found += await _messages(session, since, until)
    found += await _case_events(session, since, until, rules, triggers)
    for minutes in _timed(rules, "conversation_idle"):
        found += await _idle_gaps(session, since, until, minutes)
    return sorted((e for e in found if since <= e.at < until), key=lambda e: (e.at, e.key))


async def _messages(session: AsyncSession, since: datetime, until: datetime) -> list[AutomationEvent]:
    query = (
        select(Message, Conversation.customer_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.sender == "customer", Message.created_at >= since, Message.created_at < until)
    )
    return [message_event(m, customer) for m, customer in (await session.execute(query)).all()]


async def _case_events(
    session: AsyncSession, since: datetime, until: datetime, rules: list[CompiledRule], triggers: set[str]
) -> list[AutomationEvent]:
    horizon = since - timedelta(days=31)  # a case opened before the window can still wait into it
    query = select(Case).where(Case.created_at >= horizon, Case.created_at < until)
    cases = list((await session.execute(query)).scalars())
    found = []
    for case in cases:
        if "case_created" in triggers:
            found.append(case_event("case_created", case, case.created_at))
        if case.resolved_at is not None and "case_resolved" in triggers:
            found.append(case_event("case_resolved", case, case.resolved_at))
        if case.resolved_at is not None and case.csat is not None and "csat_received" in triggers:
            found.append(case_event("csat_received", case, case.resolved_at))
        for minutes in _timed(rules, "case_waiting"):
            event = waiting_event(case, minutes)
            answered = case.first_response_at or case.resolved_at
            if answered is None or answered > event.at:
                found.append(event)
        for percent in _percents(rules):
            if (event := _unanswered_at(case, sla_event(case, percent))) is not None:
                found.append(event)
        for score, threshold in _scores(rules):
            value = case.escalation_risk if score == "escalation_score" else case.churn_risk
            if value is not None and value >= threshold:
                found.append(score_event(case, score, threshold))
    return found


async def _idle_gaps(
    session: AsyncSession, since: datetime, until: datetime, minutes: int
) -> list[AutomationEvent]:
    """A conversation went idle when `minutes` passed after one message without another."""
    query = (
        select(Message.conversation_id, Message.created_at, Conversation.customer_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.created_at >= since - timedelta(minutes=minutes), Message.created_at < until)
        .order_by(Message.conversation_id, Message.created_at)
    )
    rows = (await session.execute(query)).all()
    found = []
    for index, (conversation_id, at, customer_id) in enumerate(rows):
        following = rows[index + 1] if index + 1 < len(rows) else None
        next_at = following[1] if following is not None and following[0] == conversation_id else None
        gap_end = at + timedelta(minutes=minutes)
        if (next_at is None or next_at > gap_end) and gap_end < until:
            found.append(idle_event(conversation_id, customer_id, at, minutes))
    return found


# ------------------------------------------------------------------------------------------- sweep


async def due(session: AsyncSession, now: datetime, rules: list[CompiledRule]) -> list[AutomationEvent]:
    """Time-based events whose time has come, for the live sweep: open cases waiting, open conversations
    idle, open cases whose score is over a threshold. Already-handled ones are filtered by the ledger."""
    found: list[AutomationEvent] = []
    for minutes in _timed(rules, "case_waiting"):
        query = select(Case).where(
            Case.status != "resolved",
            Case.first_response_at.is_(None),
            Case.created_at <= now - timedelta(minutes=minutes),
        )
        found += [waiting_event(case, minutes) for case in (await session.execute(query)).scalars()]
    if percents := _percents(rules):
        query = select(Case).where(
            Case.status != "resolved", Case.first_response_at.is_(None), Case.sla_due_at.is_not(None)
        )
        for case in (await session.execute(query)).scalars():
            candidates = (sla_event(case, percent) for percent in percents)
            found += [e for e in candidates if e is not None and e.at <= now]
    for minutes in _timed(rules, "conversation_idle"):
        query = select(Conversation.id, Conversation.customer_id, Conversation.last_message_at).where(
            Conversation.status == "open", Conversation.last_message_at <= now - timedelta(minutes=minutes)
        )
        found += [idle_event(i, c, last, minutes) for i, c, last in (await session.execute(query)).all()]
    for score, threshold in _scores(rules):
        column = SCORE_COLUMNS[score]
        query = select(Case).where(Case.status != "resolved", column >= threshold)
        found += [score_event(case, score, threshold) for case in (await session.execute(query)).scalars()]
    return sorted(found, key=lambda e: (e.at, e.key))
