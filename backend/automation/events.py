"""Where automation events come from: the stored rows (dry-run replay, and the sweep of time-based
triggers) and the live analytics events (the engine's sink).

Every event gets the same key whichever way it is found, e.g. `message:42` for a customer message, whether
the hub just published it or a dry-run replays it; the firings ledger is keyed by it, so the dry-run and the
live engine agree on what is "the same event", and a sweep that finds one again does nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditEvent
from backend.automation.evaluator import AutomationEvent, CompiledRule
from backend.cases.models import Case
from backend.conversations.models import Conversation, Message

SCORE_COLUMNS = {"escalation_score": Case.escalation_risk, "churn_score": Case.churn_risk}


def message_event(message: Message, customer_id: int | None, origin: int | None = None) -> AutomationEvent:
    return AutomationEvent(
        "message_received", message.created_at, f"message:{message.id}", message.conversation_id,
        customer_id=customer_id, message_id=message.id, origin_rule_id=origin,
    )  # fmt: skip


def reopened_event(message: Message, customer_id: int | None, origin: int | None = None) -> AutomationEvent:
    return AutomationEvent(
        "conversation_reopened", message.created_at, f"reopened:{message.id}", message.conversation_id,
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


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def slot_of(at: datetime, minutes: int) -> datetime:
    """The start of the schedule slot `at` falls in: slots are multiples of `minutes` since EPOCH (UTC)."""
    step = timedelta(minutes=minutes)
    return EPOCH + ((at - EPOCH) // step) * step


def schedule_event(
    minutes: int, slot: datetime, conversation_id: str | None = None, customer_id: int | None = None
) -> AutomationEvent:
    key = f"schedule:{minutes}:{slot.isoformat()}" + (f":{conversation_id}" if conversation_id else "")
    return AutomationEvent(
        "schedule", slot, key, conversation_id, customer_id=customer_id, minutes=minutes
    )  # fmt: skip


def _schedules(rules: Iterable[CompiledRule]) -> set[tuple[int, bool]]:
    """(minutes, per conversation) of the schedule triggers."""
    triggers = (rule.definition.trigger for rule in rules)
    return {
        (t.minutes, t.target != "none") for t in triggers if t.type == "schedule" and t.minutes is not None
    }


# ------------------------------------------------------------------------------------------- reopened


@dataclass
class History:
    """One conversation's rows that say whether a customer message reopened it, oldest first."""

    messages: list[tuple[int, datetime, str]] = field(default_factory=list)  # id, at, sender
    cases: list[tuple[datetime, datetime | None]] = field(default_factory=list)  # created, resolved
    closes: list[datetime] = field(default_factory=list)  # `conversation.close` audit rows


def reopening_messages(history: History, idle_end: timedelta) -> set[int]:
    """The customer messages that reopened the conversation: it had ended since the customer's previous
    message (a case resolved, a close, or quiet for `idle_end` with no case open, as the idle sweep ends
    it). The conversation's first customer message opens it; it reopens nothing."""
    found: set[int] = set()
    last_customer: datetime | None = None
    last_any: datetime | None = None
    for message_id, at, sender in history.messages:
        if sender == "customer":
            earlier = last_customer is not None and last_any is not None
            if earlier and _ended(history, last_customer, last_any, at, idle_end):  # type: ignore[arg-type]
                found.add(message_id)
            last_customer = at
        last_any = at
    return found


def _ended(
    history: History, since: datetime, quiet_from: datetime, at: datetime, idle_end: timedelta
) -> bool:
    endings = [resolved for _, resolved in history.cases if resolved is not None] + history.closes
    if any(since < end <= at for end in endings):
        return True
    idle_at = quiet_from + idle_end
    case_open = any(created <= idle_at and (resolved is None or resolved > idle_at)
                    for created, resolved in history.cases)  # fmt: skip
    return idle_at <= at and not case_open


async def histories(session: AsyncSession, conversation_ids: Sequence[str]) -> dict[str, History]:
    """The History of each conversation, in three queries whatever their number."""
    out = {conversation_id: History() for conversation_id in conversation_ids}
    messages = (
        select(Message.conversation_id, Message.id, Message.created_at, Message.sender)
        .where(Message.conversation_id.in_(conversation_ids))
        .order_by(Message.conversation_id, Message.created_at, Message.id)
    )
    for conversation_id, message_id, at, sender in (await session.execute(messages)).all():
        out[conversation_id].messages.append((message_id, at, sender))
    cases = select(Case.conversation_id, Case.created_at, Case.resolved_at).where(
        Case.conversation_id.in_(conversation_ids)
    )
    for conversation_id, created, resolved in (await session.execute(cases)).all():
        out[conversation_id].cases.append((created, resolved))
    closes = select(AuditEvent.entity_id, AuditEvent.created_at).where(
        AuditEvent.action == "conversation.close",
        AuditEvent.entity_type == "conversation",
        AuditEvent.entity_id.in_(conversation_ids),
    )
    for conversation_id, at in (await session.execute(closes)).all():
        out[conversation_id].closes.append(at)
    return out


async def reopened(session: AsyncSession, message: Message, idle_end: timedelta) -> bool:
    """Whether this customer message reopened its conversation (the live engine's check)."""
    history = (await histories(session, [message.conversation_id]))[message.conversation_id]
    return message.id in reopening_messages(history, idle_end)


async def _reopens(
    session: AsyncSession, since: datetime, until: datetime, idle_end: timedelta
) -> list[AutomationEvent]:
    query = (
        select(Message, Conversation.customer_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.sender == "customer", Message.created_at >= since, Message.created_at < until)
    )
    candidates = (await session.execute(query)).all()
    found = await histories(session, sorted({m.conversation_id for m, _ in candidates}))
    reopening = {cid: reopening_messages(history, idle_end) for cid, history in found.items()}
    return [reopened_event(m, customer) for m, customer in candidates if m.id in reopening[m.conversation_id]]


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
    session: AsyncSession,
    since: datetime,
    until: datetime,
    rules: list[CompiledRule],
    idle_end: timedelta = timedelta(minutes=30),
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
    if "conversation_reopened" in triggers:
        found += await _reopens(session, since, until, idle_end)
    for minutes, per_conversation in _schedules(rules):
        found += await _scheduled(session, since, until, minutes, per_conversation)
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


async def _active_in(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str, int | None, datetime]]:
    """(conversation, customer, message time) of every message in [start, end)."""
    query = (
        select(Message.conversation_id, Conversation.customer_id, Message.created_at)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.created_at >= start, Message.created_at < end)
    )
    return [(c, customer, at) for c, customer, at in (await session.execute(query)).all()]


async def _scheduled(
    session: AsyncSession, since: datetime, until: datetime, minutes: int, per_conversation: bool
) -> list[AutomationEvent]:
    """The slots of [since, until): one event each, or one per conversation with a message in the
    slot's last `minutes` minutes (a message at t belongs to the slot that starts after it)."""
    step = timedelta(minutes=minutes)
    if not per_conversation:
        slot, found = slot_of(since, minutes), []
        slot = slot if slot >= since else slot + step
        while slot < until:
            found.append(schedule_event(minutes, slot))
            slot += step
        return found
    slots: dict[tuple[str, datetime], int | None] = {}
    for conversation_id, customer_id, at in await _active_in(session, since - step, until):
        slots[(conversation_id, slot_of(at, minutes) + step)] = customer_id
    return [schedule_event(minutes, slot, c, customer) for (c, slot), customer in slots.items()]


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
    for minutes, per_conversation in _schedules(rules):
        found += await _current_slot(session, now, minutes, per_conversation)
    return sorted(found, key=lambda e: (e.at, e.key))


async def _current_slot(
    session: AsyncSession, now: datetime, minutes: int, per_conversation: bool
) -> list[AutomationEvent]:
    """The slot that began last (an earlier one missed while no worker ran is not caught up)."""
    slot = slot_of(now, minutes)
    if not per_conversation:
        return [schedule_event(minutes, slot)]
    active = await _active_in(session, slot - timedelta(minutes=minutes), slot)
    unique = {c: customer for c, customer, _ in active}
    return [schedule_event(minutes, slot, c, customer) for c, customer in unique.items()]
