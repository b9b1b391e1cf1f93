"""Handed over: the bot falls silent and a queued case awaits an agent.

Both ways in end here: the bot's own hand-off action (the service API) and the hub's hand-off policy
(backend/handoff/) deciding after a turn. Which of them decides stays with them; this module does it.
Before the bot offers a person it asks for the policy's decision on the turn it is answering
(`decision_with`), so the turn the policy hands over is not also offered (issue 14).
"""

import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.analytics import publisher
from backend.analytics.events import Event, Kind
from backend.audit import service as audit
from backend.cases import queue, routing
from backend.cases.models import Case
from backend.cases.service import last_topical_intent, open_case_of
from backend.conversations import service as conversations
from backend.conversations.models import Conversation, Message
from backend.conversations.notifier import Notifier
from backend.conversations.schemas import MessageOut
from backend.core.config import Settings
from backend.core.database import utcnow
from backend.customers.models import Customer
from backend.decisions import service as decisions
from backend.handoff.features import TurnView
from backend.handoff.policy import HandoffDecision, HandoffPolicy, decide_within
from backend.handoff.served import ServedPolicy
from contract.service_api import DEFAULT_SKILL, SKILL_BY_INTENT

log = logging.getLogger(__name__)

OVERFLOW_TEXT = (
    "All our team members are busy and the queue is full right now. Please leave your message here, with "
    "your email address if you'd like an answer by email, and we'll get back to you as soon as we can."
)


@dataclass(frozen=True)
class Destination:
    team: str
    status: str  # queued, or follow_up when every queue it may join is full
    overflow: str | None  # None, "overflow_team" or "leave_message"


async def _destination(session: AsyncSession, team: str, settings: Settings) -> Destination:
    """The team's queue while it has room (QUEUE_MAX_LENGTH); else the overflow action's path."""
    if not await queue.is_full(session, settings, team):
        return Destination(team, "queued", None)
    spare = settings.queue_overflow_team
    to_spare = settings.queue_overflow_action == "overflow_team" and spare != team
    if to_spare and not await queue.is_full(session, settings, spare):
        return Destination(spare, "queued", "overflow_team")
    return Destination(team, "follow_up", "leave_message")


async def hand_over(
    session: AsyncSession,
    conversation: Conversation,
    reason: str,
    actor: str,
    settings: Settings,
    notifier: Notifier | None = None,
    team: str | None = None,
) -> Case:
    """Handed over and queued: the conversation's owner becomes `human` and its case waits for routing.

    The team is `team` when the caller knows it (a scored sales lead goes to `sales` in the very turn whose
    intent is not stored yet), else the skill of the customer's last topical intent.

    A full team queue takes the overflow action instead (QUEUE_OVERFLOW_ACTION): the overflow team's queue,
    or a `follow_up` case the customer is told about (OVERFLOW_TEXT, pushed through `notifier`), so a
    customer handed over into a full queue is never left in silence. Either way a person owns it, so the bot
    stays silent and whatever the customer writes next is kept for whoever follows up.

    Idempotent: a conversation that already has an open case keeps it, also when the bot's own hand-off
    (the service API) and the hub's policy hand the same conversation over at the same moment.
    """
    await _lock_for_writing(session, conversation.id)
    return await _hand_over(session, conversation, reason, actor, settings, notifier, team)


async def _lock_for_writing(session: AsyncSession, conversation_id: str) -> None:
    """Make a second hand-off of this conversation wait for the first one's commit, then see its case.

    PostgreSQL: the conversation's row lock. SQLite has no row locks, so a no-op write takes the database's
    write lock before the open case is looked for. The lock has to be the database's own: a lock held in this
    process in front of it (as before) let a caller that already held the write lock wait for a hand-off
    that waited for that write lock, both stuck until the busy timeout failed one of them.
    """
    if session.bind.dialect.name == "sqlite":
        same = Conversation.id == conversation_id
        no_op = update(Conversation).where(same).values(owner=Conversation.owner)
        await session.execute(no_op.execution_options(synchronize_session=False))
        return
    await session.execute(select(Conversation.id).where(Conversation.id == conversation_id).with_for_update())


async def _hand_over(
    session: AsyncSession,
    conversation: Conversation,
    reason: str,
    actor: str,
    settings: Settings,
    notifier: Notifier | None,
    team: str | None = None,
) -> Case:
    existing = await open_case_of(session, conversation.id)
    if existing is not None:
        return existing
    customer = await session.get(Customer, conversation.customer_id) if conversation.customer_id else None
    value = float(customer.lifetime_value) if customer else None
    topic = None if team else await last_topical_intent(session, conversation.id)
    skill = team or SKILL_BY_INTENT.get(topic or "", DEFAULT_SKILL)
    where = await _destination(session, skill, settings)
    now = utcnow()
    case = Case(
        conversation_id=conversation.id,
        customer_id=conversation.customer_id,
        reason=reason,
        status=where.status,
        skill=where.team,
        language=customer.language if customer else "en",
        customer_value=value,
        priority=routing.base_priority(None, None, value, routing.PriorityWeights.from_settings(settings)),
        created_at=now,
        sla_due_at=now + timedelta(seconds=settings.first_response_sla_s),
    )
    conversation.owner = "human"
    session.add(case)
    await session.flush()
    audit.record(
        session, actor, "case.handoff", "case", case.id, after={"reason": reason, "skill": case.skill}
    )
    note = _overflowed(session, case, skill, where)
    await session.commit()
    publisher.publish(Event(Kind.HANDOFF, now, conversation.id))
    if note is not None and notifier is not None:
        event = {"type": "message", "message": MessageOut.model_validate(note).model_dump(mode="json")}
        notifier.publish(conversation.id, event)
    return case


def _overflowed(session: AsyncSession, case: Case, wanted: str, where: Destination) -> Message | None:
    """Audit an overflow; for a follow-up, the message that tells the customer (stored with the case)."""
    if where.overflow is None:
        return None
    after = {"action": where.overflow, "team": wanted, "to_team": where.team}
    audit.record(session, "system", "case.overflow", "case", case.id, after=after)
    log.info("case %s: team %s's queue is full: %s", case.id, wanted, where.overflow)
    if where.overflow != "leave_message":
        return None
    note = Message(
        conversation_id=case.conversation_id, sender="system", text=OVERFLOW_TEXT, created_at=utcnow()
    )
    session.add(note)
    return note


# Decisions `decision_with` made, for the hub's decision after the same turn: an offer turn asks the policy
# before the bot answers and the hub asks again after it, on the same turns when the stored parse is what the
# bot sent. A decision is a function of the policy and the turns alone, so an equal key is the same answer.
# Only decisions the policy itself made are kept (not a missed deadline's or a failure's rules fallback), and
# only a few: a hit is the very next decision of its conversation, in this process.
_Key = tuple[str, HandoffPolicy, tuple[TurnView, ...]]
_DECIDED: OrderedDict[_Key, tuple[HandoffDecision, float]] = OrderedDict()
_DECIDED_MAX = 256


async def decide(
    policy: HandoffPolicy, conversation_id: str, turns: Sequence[TurnView], budget_s: float
) -> tuple[HandoffDecision, float]:
    """The policy's decision on `turns` and the milliseconds it took (`decide_within`), or the one
    `decision_with` made on the same turns of this conversation moments ago, with the time that took."""
    key = (conversation_id, policy, tuple(turns))
    known = _DECIDED.pop(key, None)
    if known is not None:
        return known
    started = time.perf_counter()
    decision = await decide_within(policy, turns, budget_s)
    return decision, (time.perf_counter() - started) * 1000


def _remember(key: _Key, decided: tuple[HandoffDecision, float]) -> None:
    if decided[0].fallback is not None:
        return
    _DECIDED[key] = decided
    _DECIDED.move_to_end(key)
    while len(_DECIDED) > _DECIDED_MAX:
        _DECIDED.popitem(last=False)


async def decision_with(
    session: AsyncSession,
    conversation: Conversation,
    turn: TurnView,
    settings: Settings,
    served: ServedPolicy,
) -> HandoffDecision | None:
    """What the hand-off policy will decide after the turn the bot is answering now, `turn` being its parse
    (stored only once the bot has answered); None when no policy runs (HANDOFF_POLICY=off).

    The same policy on the same turns as the hub's decision after the turn (every stored customer message
    the bot parsed, then this one), so the bot can leave the turn to it instead of offering a person in the
    very turn the policy hands over. No later message exists yet: a conversation answers one turn at a time.
    `served` is the app's policy, the hub's too (backend/handoff/served.py), so both decide with one policy.
    """
    policy = served.serving.policy
    if policy is None:
        return None
    latest = select(func.max(Message.id)).where(Message.conversation_id == conversation.id)
    up_to = (await session.execute(latest)).scalar_one_or_none() or 0
    turns = (*await conversations.parsed_customer_turns(session, conversation.id, up_to), turn)
    decided = await decide(policy, conversation.id, turns, settings.decision_deadline_ms / 1000)
    _remember((conversation.id, policy, turns), decided)
    return decided[0]


async def apply_risk(
    session: AsyncSession, case: Case, escalation: float | None, churn: float | None, settings: Settings
) -> Case:
    """Record the risks that made (or accompany) the hand-off; they set the case's base priority, a
    logged decision of its own."""
    weights = routing.PriorityWeights.from_settings(settings)
    case.escalation_risk, case.churn_risk = escalation, churn
    case.priority = routing.base_priority(escalation, churn, case.customer_value, weights)
    decisions.record(
        session,
        "priority",
        action=f"priority {case.priority:.2f}",
        version="rules",
        inputs={"escalation_risk": escalation, "churn_risk": churn, "customer_value": case.customer_value},
        scores={"priority": case.priority, "weights": asdict(weights)},
        score=case.priority,
        conversation_id=case.conversation_id,
        case_id=case.id,
        customer_id=case.customer_id,
    )
    await session.commit()
    return case


async def decided(
    session: AsyncSession,
    conversation: Conversation,
    message: Message,
    decision: HandoffDecision,
    latency_ms: float,
    case: Case | None,
) -> None:
    """The hand-off policy's decision on this turn, hand-off or not, logged with its evidence. `case` is the
    case it opened (or the bot's own hand-off opened this turn), None when the bot carries on."""
    record_decision(session, conversation, message, decision, latency_ms, case)
    await session.commit()


def record_decision(
    session: AsyncSession,
    conversation: Conversation,
    message: Message,
    decision: HandoffDecision,
    latency_ms: float,
    case: Case | None,
) -> None:
    """`decided`'s row, added to the caller's transaction (the caller commits)."""
    decisions.record(session, "handoff", **_fields(conversation, message, decision, latency_ms, case))


async def insert_decision(
    session: AsyncSession,
    conversation: Conversation,
    message: Message,
    decision: HandoffDecision,
    latency_ms: float,
) -> None:
    """The row of a decision that carries on (no case), written now in the caller's transaction."""
    fields = _fields(conversation, message, decision, latency_ms, None)
    await decisions.insert_row(session, "handoff", **fields)


def _fields(
    conversation: Conversation,
    message: Message,
    decision: HandoffDecision,
    latency_ms: float,
    case: Case | None,
) -> decisions.Fields:
    scores = {"handoff_probability": decision.score} if decision.score is not None else {}
    return decisions.Fields(
        action="handoff" if decision.handoff else "continue",
        version=decision.policy,
        inputs={"features": decision.features, "bot_handed_over": case is not None and not decision.handoff},
        scores=scores,
        score=decision.score,
        threshold=decision.threshold,
        reasons=decision.reasons,
        fallback=decision.fallback,
        latency_ms=latency_ms,
        conversation_id=conversation.id,
        case_id=case.id if case is not None else None,
        customer_id=conversation.customer_id,
        message_id=message.id,
    )
