"""The message path: store the customer's message first, then let the bot or a human answer it.

    widget -> customer_message -> [commit message] -> owner is bot?  -> Rasa -> [commit parse + replies]
                                                   |                  -> on_answered (the widget's ack)
                                                   |                  -> escalation scoring (may hand over)
                                                   \\-> owner is human -> notify the agents' inbox
Whatever fails after the first commit (Rasa down, a timeout) leaves the message stored and the customer
gets a holding reply, so nothing the customer said is ever lost. The time a turn may take, RASA_TIMEOUT_S,
counts from the message's arrival, not from the call to Rasa: under overload a turn that waited its time
away (for its conversation's lock, the database, a free connection to Rasa) gets the holding reply at once
instead of asking Rasa for an answer the customer would wait even longer for.

The customer is not kept waiting for the escalation model: the ack goes out with the bot's replies, and a
hand-off notice, if scoring decides on one, follows as its own message. The conversation's lock is held
until scoring is done, so its next message already sees who owns the conversation.
"""

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from prometheus_client import Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.analytics import publisher
from backend.analytics.events import from_rasa_event
from backend.conversations import service
from backend.conversations.models import Conversation, Message
from backend.conversations.notifier import SUPERVISORS, Notifier, agent_topic
from backend.conversations.rasa_client import BotReply, BotTurn, BotUnavailable, RasaClient
from backend.conversations.schemas import MessageOut
from backend.core import metrics
from backend.core.config import Settings
from backend.core.database import utcnow
from backend.handoff.features import TurnView
from backend.handoff.policy import HandoffDecision
from backend.handoff.served import ServedPolicy
from backend.lifecycle import conversations as lifecycle
from backend.lifecycle import handoff
from backend.risk import service as risk
from backend.risk.crm import turns_from
from contract.quick_replies import CUSTOMER_TEXT_KEY
from contract.service_api import HANDOFF_MESSAGE as HANDOFF_NOTICE

log = logging.getLogger(__name__)


class ConversationNotFound(Exception):
    pass


class ConversationErased(Exception):
    """The conversation's transcript was erased: its widget token no longer posts into it."""


@dataclass(frozen=True)
class Timed:
    """A hand-off decision and how long the policy took to make it (the decision log keeps both)."""

    decision: HandoffDecision
    latency_ms: float


@dataclass(frozen=True)
class Judged:
    """What `_judge` made of a turn: its decision and score, whether it read the conversation's row again,
    and whether it logged the decision (one that hands nothing over)."""

    timed: Timed | None
    risk: risk.EscalationDecision | None
    reread: bool
    logged: bool


async def _logged(session: AsyncSession, conversation: Conversation, message: Message, timed: Timed) -> bool:
    """Write a decision that hands nothing over after scoring, then commit it with scoring's row (or alone,
    when scoring failed); False if that failed, so the caller logs it again. Not written before scoring's
    reads: the write would hold the database's write lock (SQLite) for the whole of scoring."""
    try:
        await handoff.insert_decision(session, conversation, message, timed.decision, timed.latency_ms)
        await session.commit()
    except Exception:
        log.info(
            "conversation %s: decision not logged with the score; logged apart",
            conversation.id,
            exc_info=True,
        )
        return False
    return True


@dataclass(frozen=True)
class Turn:
    message: Message
    replies: list[Message]
    duplicate: bool


# Called with (the customer's message, was it a re-send) once the turn's replies are stored and pushed.
AnsweredHook = Callable[[Message, bool], Awaitable[None]]


class _AnsweredOnce:
    """The caller's hook, called the first time it is reached; a failing hook (the socket closed) cannot
    break the turn: the customer's next frame finds the socket closed anyway."""

    def __init__(self, hook: AnsweredHook | None) -> None:
        self._hook = hook

    async def __call__(self, message: Message, duplicate: bool) -> None:
        hook, self._hook = self._hook, None
        if hook is None:
            return
        try:
            await hook(message, duplicate)
        except Exception:
            log.info("conversation %s: on_answered failed", message.conversation_id, exc_info=True)


# A turn still pending this long after its Rasa timeout was abandoned by a backend worker that died mid-turn.
ABANDONED_AFTER_TIMEOUT_S = 5.0
DUPLICATE_POLL_S = 0.5


async def _within(deadline: float, turn: Coroutine[Any, Any, BotTurn]) -> BotTurn:
    """The bot's turn if it ends before the deadline; BotUnavailable if not, or if no time is left to ask."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        turn.close()  # never started: Rasa is not asked
        raise BotUnavailable("the turn's time ran out before Rasa could be asked (overload)")
    try:
        return await asyncio.wait_for(turn, remaining)
    except TimeoutError as exc:
        raise BotUnavailable(f"Rasa did not answer within the turn's {remaining:.1f} s left") from exc


class ConversationHub:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        notifier: Notifier,
        settings: Settings,
        on_handoff: Callable[[], None] = lambda: None,
        policy: ServedPolicy | None = None,
    ) -> None:
        self._sessions = sessions
        self._rasa = rasa
        self._notifier = notifier
        self._settings = settings
        self._on_handoff = on_handoff
        # The app's, which follows its file (backend/handoff/served.py); without one, loaded once here.
        self._served = policy or ServedPolicy(settings.handoff_policy, settings.handoff_model_path, 0)
        # One turn at a time per conversation in this process, so replies come back in the order asked.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    async def customer_message(
        self,
        conversation_id: str,
        text: str,
        client_id: str | None,
        on_answered: AnsweredHook | None = None,
    ) -> Turn:
        """Store and answer one customer message. `on_answered` is awaited once, as soon as the bot's
        replies are stored and pushed (before escalation scoring); the returned Turn also holds a hand-off
        notice that scoring added."""
        answered = _AnsweredOnce(on_answered)
        deadline = time.monotonic() + self._settings.rasa_timeout_s
        async with self._lock(conversation_id), self._sessions() as session:
            # The quick reply's payload is read with the row, in the transaction that stores the message, so
            # no connection is held while Rasa answers; only Rasa reads it, so not while a person owns it.
            conversation, payload = await service.conversation_for_turn(session, conversation_id, text)
            if conversation is None:
                raise ConversationNotFound(conversation_id)
            # The widget's revocation after an erasure (backend/auth/dependencies.py), from the row read here.
            if conversation.transcript_erased_at is not None:
                raise ConversationErased(conversation_id)
            if conversation.owner != "bot":
                payload = None
            message, duplicate = await lifecycle.store_customer_message(
                session, conversation, text, client_id
            )
            if duplicate:
                replies = await self._settle_duplicate(session, conversation, message, answered)
            else:
                self._publish(conversation.id, message)
                replies = await self._answer(
                    session, conversation, message, answered, deadline, rasa_text=payload or text
                )
            await answered(message, duplicate)
            return Turn(message, replies, duplicate)

    async def _settle_duplicate(
        self,
        session: AsyncSession,
        conversation: Conversation,
        message: Message,
        answered: _AnsweredOnce,
    ) -> list[Message]:
        """A re-sent message's replies. If the worker that stored it died before answering (the customer
        reconnected to another worker), it is answered here once its turn is certainly abandoned; a claim in
        the database makes sure only one worker does so."""
        abandoned_at = message.created_at + timedelta(
            seconds=self._settings.rasa_timeout_s + ABANDONED_AFTER_TIMEOUT_S
        )
        while message.bot_status == "pending" and conversation.owner == "bot":
            if utcnow() >= abandoned_at:
                # Read before the claim, whose commit ends this read transaction before Rasa is asked.
                text = message.text
                payload = await service.quick_reply_payload(session, conversation.id, text, message.id)
                if await service.claim_pending(session, message):
                    log.warning("conversation %s: answering abandoned turn %s", conversation.id, message.id)
                    # A new attempt: the wait for the dead worker's turn does not count against it.
                    deadline = time.monotonic() + self._settings.rasa_timeout_s
                    return await self._answer(
                        session, conversation, message, answered, deadline, payload or text, resume=True
                    )
                break
            # End the read transaction before waiting, so a waiting re-send holds no pooled connection:
            # under overload many customers re-send at once and would exhaust the pool, stalling every turn.
            await session.commit()
            await asyncio.sleep(DUPLICATE_POLL_S)
            await session.refresh(message)
        return await service.replies_to(session, message.id)

    async def _answer(
        self,
        session: AsyncSession,
        conversation: Conversation,
        message: Message,
        answered: _AnsweredOnce,
        deadline: float,
        rasa_text: str,
        resume: bool = False,
    ) -> list[Message]:
        """Rasa's answer to `message`, sent to it as `rasa_text` (a clicked quick reply's payload)."""
        if conversation.owner != "bot":
            self._tell_the_agent(conversation, message)
            self._count(message, None, rasa_saw_it=False)
            return []
        stages = metrics.Stopwatch(metrics.TURN_STAGE_SECONDS, deadline - self._settings.rasa_timeout_s)
        stages.lap("store")
        metadata = {"customer_id": conversation.customer_id, "channel": conversation.channel}
        if rasa_text != message.text:
            metadata[CUSTOMER_TEXT_KEY] = message.text
        # A resumed turn may have reached Rasa before its worker died: replies are read back, not re-asked.
        ask = self._rasa.recover_or_send if resume else self._rasa.send
        owned_as = "retrying" if resume else "pending"
        try:
            turn = await _within(deadline, ask(conversation.id, rasa_text, message.id, metadata))
        except BotUnavailable as exc:
            stages.lap("rasa")
            replies = [BotReply(text=self._settings.holding_reply)]
            stored = await lifecycle.store_bot_replies(
                session, conversation, message, replies, status="failed", owned_as=owned_as
            )
            if stored is None:
                return self._taken_over(conversation, message)
            log.warning("conversation %s: bot unavailable, holding reply sent: %s", conversation.id, exc)
            self._count(message, None, rasa_saw_it=True)  # if Rasa got it after all, its event counts it
            self._publish_all(conversation.id, stored)
            stages.lap("replies")
            self._timed(deadline, "holding", metrics.WIDGET_TURN_SECONDS, metrics.TURN_SECONDS)
            return stored
        else:
            stages.lap("rasa")
            parse = service.parse_columns(turn.parse)
            stored = await lifecycle.store_bot_replies(
                session, conversation, message, turn.replies, "answered", owned_as, parse
            )
            if stored is None:
                service.apply_parse(message, turn.parse)  # as the turn understood it, though not stored
                return self._taken_over(conversation, message)
            self._count(message, turn, rasa_saw_it=True)
            self._publish_all(conversation.id, stored)
            stages.lap("replies")
            self._timed(deadline, "answered", metrics.WIDGET_TURN_SECONDS)
            await answered(message, resume)
            notices = await self._escalate_if_needed(session, conversation, message)
            self._publish_all(conversation.id, notices)
            stages.lap("decide")
            self._timed(deadline, "answered", metrics.TURN_SECONDS)
            # One line per answered turn, under the message's correlation id (a socket's messages have no
            # request line of their own); the intent, never the text.
            log.info(
                "conversation %s: message %s answered (%s), %d replies",
                conversation.id,
                message.id,
                message.intent,
                len(stored),
                extra={"conversation_id": conversation.id, "intent": message.intent},
            )
            return stored + notices

    def _taken_over(self, conversation: Conversation, message: Message) -> list[Message]:
        # This turn outlived its Rasa timeout so long that a re-send's worker took it over and answers it.
        log.warning("conversation %s: turn %s was taken over by another worker", conversation.id, message.id)
        return []

    def _timed(self, deadline: float, outcome: str, *histograms: Histogram) -> None:
        """Observe the time since the message arrived (its deadline is the arrival plus the allowance)."""
        elapsed = time.monotonic() - (deadline - self._settings.rasa_timeout_s)
        for histogram in histograms:
            histogram.labels(outcome).observe(elapsed)

    async def _escalate_if_needed(
        self, session: AsyncSession, conversation: Conversation, message: Message
    ) -> list[Message]:
        """Decide whether a person takes over (backend/handoff/policy.py) and score the turn's escalation
        risk for the case's priority; a hand-off opens the case and tells the customer.

        This comes after the customer's message and the bot's replies are committed, so a failure here
        costs the customer nothing: the turn stands and the next one is decided again.
        """
        # End this turn's read transaction first: a turn holding its connection while scoring waits for a
        # second one deadlocks a full pool (every turn holds one, none gets another) under load. The replies'
        # commit has usually ended it already: committing none would begin and end an empty one.
        if session.in_transaction():
            await session.commit()
        judged = await self._judge(conversation, message)
        if not judged.reread:
            await session.refresh(conversation)  # as _judge would have: it could not read the row
        timed, risk_score = judged.timed, judged.risk
        decision = timed.decision if timed is not None else None
        already_human = conversation.owner == "human"  # the bot's own hand-off action ran this turn
        if not already_human and not (decision is not None and decision.handoff):
            if timed is not None and not judged.logged:
                await handoff.decided(session, conversation, message, timed.decision, timed.latency_ms, None)
            return []
        reason = "; ".join(decision.reasons[:3]) if decision is not None and decision.reasons else ""
        reason = reason or "handed over by the bot"
        case = await handoff.hand_over(
            session, conversation, reason, "system:handoff-policy", self._settings, self._notifier
        )
        if timed is not None:
            await handoff.decided(session, conversation, message, timed.decision, timed.latency_ms, case)
        if risk_score is not None:
            await handoff.apply_risk(session, case, risk_score.score, risk_score.churn_risk, self._settings)
        self._on_handoff()
        # The bot's own hand-off action already told the customer; a full queue's follow-up note did too.
        if already_human or case.status == "follow_up":
            return []
        notice = BotReply(text=HANDOFF_NOTICE)
        stored = await lifecycle.store_bot_replies(
            session, conversation, message, [notice], status="answered"
        )
        return stored or []

    async def _judge(self, conversation: Conversation, message: Message) -> Judged:
        """The hand-off decision and the escalation score of this turn, from one read of the conversation's
        customer turns. Its own session: whatever scoring does or fails at cannot touch this turn's stored
        rows. Neither can break the conversation: a failure is logged and the turn goes on without it.

        It first reads the conversation's row again into `conversation` (an action may have handed it to a
        human during this turn), in the transaction that reads the turns rather than in the turn's own
        session. A decision that hands nothing over is logged here too, committed with the turn's score
        (or on its own when scoring fails), instead of in a transaction of its own."""
        reread = logged = False
        try:
            async with self._sessions() as scoring:
                turns = await service.reread_with_turns(scoring, conversation, message.id)
                reread = True
                try:
                    timed = await self._decide(conversation.id, service.parsed_turns(turns))
                except Exception:
                    log.exception("conversation %s: hand-off decision failed", conversation.id)
                    timed = None
                # The case of a hand-off is opened afterwards in the turn's session, and its decision logged
                # there with it; the bot's own hand-off this turn made the owner `human`.
                carry_on = timed is not None and not timed.decision.handoff and conversation.owner != "human"
                # Scoring leaves the commit of its row to the decision's: one commit for both.
                commit = not carry_on
                risk_score = await self._score_risk(scoring, conversation, message, turns, commit)
                if carry_on:
                    assert timed is not None
                    logged = await _logged(scoring, conversation, message, timed)
                return Judged(timed, risk_score, reread, logged)
        except Exception:  # reading the turns (or ending the session) failed: neither can be made
            log.exception("conversation %s: hand-off decision and scoring failed", conversation.id)
            return Judged(None, None, reread, logged)

    async def _score_risk(
        self,
        scoring: AsyncSession,
        conversation: Conversation,
        message: Message,
        turns: list[service.CustomerTurn],
        commit: bool,
    ) -> risk.EscalationDecision | None:
        """The turn's escalation risk, for the case's priority and the agent's panel (not the decision)."""
        rows = [(t.created_at, t.intent, t.sentiment_label, t.sentiment_score) for t in turns]
        try:
            return await risk.score_turn(
                scoring, conversation, message, self._settings, turns=turns_from(rows), commit=commit
            )
        except Exception:  # scoring must never break the conversation
            log.exception("conversation %s: escalation scoring failed", conversation.id)
            return None

    async def _decide(self, conversation_id: str, turns: list[TurnView]) -> Timed | None:
        serving = self._served.serving  # one read: the policy and its fallback note belong together
        if serving.policy is None or not turns:
            return None
        budget_s = self._settings.decision_deadline_ms / 1000
        decision, latency_ms = await handoff.decide(serving.policy, conversation_id, turns, budget_s)
        # A learnt policy that could not be loaded left the rules deciding: every decision says so.
        if decision.fallback is None and serving.fallback is not None:
            decision = replace(decision, fallback=serving.fallback)
        return Timed(decision, latency_ms)

    def _count(self, message: Message, turn: BotTurn | None, rasa_saw_it: bool) -> None:
        """This turn's analytics (backend/analytics/events.py says which source counts which fact).

        With RabbitMQ configured, Rasa's own tracker events count every message Rasa processed and its
        replies, so the hub adds only messages Rasa never saw. Without it, the hub builds the same Rasa-shaped
        events from the parse and replies it has and runs the same translation as the consumer.
        """
        if self._settings.rabbitmq_url and rasa_saw_it:
            return
        sender, at = message.conversation_id, message.created_at.timestamp()
        parse = turn.parse if turn else {}
        bodies = [{"event": "user", "sender_id": sender, "timestamp": at, "parse_data": parse}]
        for reply in turn.replies if turn else []:
            bodies.append({"event": "bot", "sender_id": sender, "timestamp": at, "text": reply.text,
                           "data": {"buttons": reply.buttons}})  # fmt: skip
        publisher.publish(*(event for body in bodies for event in from_rasa_event(body)))

    def _tell_the_agent(self, conversation: Conversation, message: Message) -> None:
        # Until an agent accepts, the case is in the queue: supervisors see the message there.
        topic = agent_topic(conversation.assigned_agent_id) if conversation.assigned_agent_id else SUPERVISORS
        event = {"type": "message", "message": MessageOut.model_validate(message).model_dump(mode="json")}
        self._notifier.publish(topic, event)

    def _publish_all(self, conversation_id: str, messages: list[Message]) -> None:
        for message in messages:
            self._publish(conversation_id, message)

    def _publish(self, conversation_id: str, message: Message) -> None:
        event = {"type": "message", "message": MessageOut.model_validate(message).model_dump(mode="json")}
        self._notifier.publish(conversation_id, event)
