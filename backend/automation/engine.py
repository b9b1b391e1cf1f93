"""The live engine: events in, the evaluator's plan, actions carried out through the lifecycle.

Events arrive two ways. The analytics publisher's events (a conversation opened, a customer message, a case
opened, resolved or rated) come through `apply`, this engine's publisher sink, which queues them; the queue's
loop resolves each to its rows and handles it. Time-based triggers (a case waiting N minutes, a conversation
idle N minutes, a score over a threshold) are found by the sweep, a Periodic loop.

Each planned action is first claimed in the firings ledger together with its decision-log row (one commit;
the ledger's unique key makes a second worker's claim of the same action for the same event fail), then
carried out, then marked done; a blocked or failing action goes to the exception queue instead.

The enabled rules are read at most every RULES_TTL_S (and at once after a change through this worker's API):
an event no enabled rule listens for costs no database work at all, which is the common case under load. A
change made on another worker takes effect here within RULES_TTL_S.

While an action runs, `ORIGIN` holds its rule's id: the lifecycle publishes the events the action causes in
this same task, and the sink stamps them with it, so a rule's own actions never trigger it again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.analytics import publisher
from backend.analytics.events import Event, Kind
from backend.automation import context as contexts
from backend.automation import events as sources
from backend.automation import ledger, service
from backend.automation.evaluator import (
    AutomationEvent,
    CompiledRule,
    Limits,
    PlannedAction,
    consent_refusal,
    evaluate,
    fingerprint,
    triggered_by,
)
from backend.automation.models import AutomationException, ConversationTag, Firing
from backend.automation.schemas import is_marketing
from backend.automation.webhook import deliver
from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.conversations.notifier import Notifier
from backend.core.background import Background, Periodic, raise_if_cancelling, stop_all
from backend.core.config import Settings
from backend.core.database import utcnow
from backend.customers.models import Customer
from backend.decisions import service as decisions
from backend.experiments import retention
from backend.lifecycle import automated
from backend.lifecycle.cases import CaseStateError

log = logging.getLogger(__name__)
ORIGIN: ContextVar[int | None] = ContextVar("automation_origin", default=None)
QUEUE_SIZE = 10_000
RULES_TTL_S = 2.0
MESSAGE_TIME_SLACK = timedelta(milliseconds=5)
# A customer message is also a reopening when the conversation had ended before it (events.py decides).
LIVE_KINDS = {
    Kind.CONVERSATION_STARTED: ("conversation_opened",),
    Kind.MESSAGE_RECEIVED: ("message_received", "conversation_reopened"),
    Kind.HANDOFF: ("case_created",),
    Kind.CASE_RESOLVED: ("case_resolved",),
    Kind.CSAT_GIVEN: ("csat_received",),
}


class ActionNotApplicable(Exception):
    """The action has nothing to act on (no conversation, no open case)."""


@dataclass(frozen=True)
class Published:
    trigger: str
    conversation_id: str
    at: datetime
    origin: int | None


def limits_from(settings: Settings) -> Limits:
    return Limits(
        settings.automation_max_actions_per_hour,
        settings.automation_max_contacts_per_day,
        idle_end=timedelta(seconds=settings.analytics_idle_end_s),
    )


@functools.cache
def webhook_tls() -> ssl.SSLContext:
    """The TLS context of the webhook client: httpx's default (certifi's CA bundle, SSL_CERT_FILE and
    SSL_CERT_DIR honoured), built once per process. httpx builds it anew for every client, and loading the CA
    bundle cost 20-50 ms of CPU at every app start; the context is the same each time."""
    return httpx.create_ssl_context()


class Engine:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        settings: Settings,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._sessions, self._notifier, self._settings = sessions, notifier, settings
        self.limits = limits_from(settings)
        self._queue: asyncio.Queue[Published] = asyncio.Queue(QUEUE_SIZE)
        self._http = httpx.AsyncClient(
            timeout=settings.automation_webhook_timeout_s, transport=transport, verify=webhook_tls()
        )
        self.dropped = 0
        self._rules: list[CompiledRule] | None = None
        self._rules_at = 0.0
        self.loop = Background("automation-events", self._drain)
        self.sweeper = Periodic("automation-sweep", self.sweep, settings.automation_sweep_interval_s)
        self.loops = (self.loop, self.sweeper)

    # ------------------------------------------------------------------------------ start and stop

    def start(self) -> None:
        if not self._settings.automation_enabled:
            return
        publisher.connect(self)
        for loop in self.loops:
            loop.start()

    async def stop(self) -> None:
        publisher.disconnect(self)
        await stop_all(self.loops)
        await self._http.aclose()

    # --------------------------------------------------------------------------------------- rules

    async def live_rules(self) -> list[CompiledRule]:
        """The enabled rules at their active versions, read again when older than RULES_TTL_S."""
        if self._rules is None or time.monotonic() - self._rules_at > RULES_TTL_S:
            async with self._sessions() as session:
                self._rules = await service.live_rules(session)
            self._rules_at = time.monotonic()
        return self._rules

    def rules_changed(self) -> None:
        """A rule was enabled, disabled or rolled back here: read the rules again before the next event."""
        self._rules = None

    def _listened_for(self, trigger: str) -> bool:
        """Whether an enabled rule may listen for this trigger (True while the cached rules are stale)."""
        if self._rules is None or time.monotonic() - self._rules_at > RULES_TTL_S:
            return True
        return any(rule.definition.trigger.type == trigger for rule in self._rules)

    # ---------------------------------------------------------------------------------- live events

    def apply(self, event: Event) -> None:
        """The publisher's sink: never waits, never raises (a full queue drops the event, logged)."""
        if event.conversation_id is None:
            return
        for trigger in LIVE_KINDS.get(event.kind, ()):
            if not self._listened_for(trigger):
                continue
            try:
                self._queue.put_nowait(Published(trigger, event.conversation_id, event.at, ORIGIN.get()))
            except asyncio.QueueFull:
                self.dropped += 1
                log.warning("automation: event queue full, %s of %s dropped", trigger, event.conversation_id)

    async def idle(self) -> None:
        """Wait until every queued event is handled (tests, shutdown)."""
        await self._queue.join()

    async def _drain(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                listening = any(r.definition.trigger.type == item.trigger for r in await self.live_rules())
                event = await self._resolve(item) if listening else None
                if event is not None:
                    await self.handle(event)
            except Exception:  # one bad event must not stop automation
                log.exception("automation: handling %s of %s failed", item.trigger, item.conversation_id)
            finally:
                self._queue.task_done()
            raise_if_cancelling()

    async def _resolve(self, item: Published) -> AutomationEvent | None:
        """The rows a published event is about, and so its key (the same one a replay gives it)."""
        async with self._sessions() as session:
            conversation = await session.get(Conversation, item.conversation_id)
            if conversation is None:
                return None
            if item.trigger == "conversation_opened":
                return sources.opened_event(conversation, item.origin)
            if item.trigger in ("message_received", "conversation_reopened"):
                return await self._message_event(session, conversation, item)
            case = await _latest_case(session, conversation.id, resolved=item.trigger != "case_created")
            if case is None:
                return None
            at = case.created_at if item.trigger == "case_created" else case.resolved_at or item.at
            return sources.case_event(item.trigger, case, at, item.origin)

    async def _message_event(
        self, session: AsyncSession, conversation: Conversation, item: Published
    ) -> AutomationEvent | None:
        message = await _customer_message_at(session, conversation.id, item.at)
        if message is None:
            return None
        if item.trigger == "message_received":
            return sources.message_event(message, conversation.customer_id, item.origin)
        if not await sources.reopened(session, message, self.limits.idle_end):
            return None
        return sources.reopened_event(message, conversation.customer_id, item.origin)

    async def sweep(self) -> int:
        """One round of the time-based triggers; returns how many actions it planned."""
        rules = await self.live_rules()
        due: list[AutomationEvent] = []
        if rules:
            async with self._sessions() as session:
                due = await sources.due(session, utcnow(), rules)
        planned = 0
        for event in due:
            planned += len(await self.handle(event))
        return planned

    # ------------------------------------------------------------------------------------ handling

    async def handle(self, event: AutomationEvent) -> list[PlannedAction]:
        """Evaluate the enabled rules on one event and carry out (or queue as exceptions) what they plan."""
        rules = [r for r in await self.live_rules() if triggered_by(r.definition, event)]
        if not rules:
            return []
        async with self._sessions() as session:
            seen = await ledger.from_database(session, event)
            if _all_done(rules, seen.done):  # a sweep finding a handled event again: nothing to read
                return []
            context = await contexts.snapshot(session, event)
        planned = evaluate(rules, event, context, seen, self.limits)
        for item in planned:
            await self._carry_out(item)
        return planned

    async def _carry_out(self, item: PlannedAction) -> None:
        async with self._sessions() as session:
            firing = _firing(item)
            session.add(firing)
            try:
                await session.flush()
            except IntegrityError:  # another worker claimed this action for this event first
                await session.rollback()
                return
            _decide(session, item)
            if item.queued:
                session.add(_exception(item, firing.id, "blocked", item.reason or "blocked"))
            await session.commit()
            firing_id = firing.id
        if item.outcome != "run":
            return
        try:
            await self.perform(item.rule_id, item.version_id, item.action, item.event, item.context)
        except Exception as exc:  # any failure of the action is a supervisor's to look at
            log.warning("automation: rule %s action %s failed", item.rule_id, item.type, exc_info=True)
            await self._finish(firing_id, "failed", _exception(item, firing_id, "failed", _why(exc)))
        else:
            await self._finish(firing_id, "done", None)

    async def _finish(self, firing_id: int, outcome: str, exception: AutomationException | None) -> None:
        async with self._sessions() as session:
            firing = await session.get(Firing, firing_id)
            if firing is not None:
                firing.outcome = outcome
            if exception is not None:
                exception.attempts = 1
                session.add(exception)
            await session.commit()

    # ------------------------------------------------------------------------------------- actions

    async def perform(
        self,
        rule_id: int,
        version_id: int,
        action: dict[str, Any],
        event: AutomationEvent,
        context: dict[str, Any] | Any,
    ) -> None:
        """Carry out one action (also a supervisor's retry from the exception queue)."""
        token = ORIGIN.set(rule_id)
        try:
            if action["type"] == "webhook":
                payload = {"rule_id": rule_id, "version_id": version_id, "action": "webhook",
                           "event": event.as_dict(), "context": dict(context)}  # fmt: skip
                await deliver(
                    self._http, str(action["url"]), str(action["secret"]), payload,
                    self._settings.automation_webhook_attempts, self._settings.automation_webhook_backoff_s,
                )  # fmt: skip
                return
            async with self._sessions() as session:
                await self._change(session, rule_id, action, event)
        finally:
            ORIGIN.reset(token)

    async def _change(
        self, session: AsyncSession, rule_id: int, action: dict[str, Any], event: AutomationEvent
    ) -> None:
        actor, kind = f"rule:{rule_id}", action["type"]
        if kind == "notify_supervisors":
            automated.notify_supervisors(
                self._notifier,
                {"rule_id": rule_id, "text": action["text"], "conversation_id": event.conversation_id,
                 "case_id": event.case_id, "trigger": event.trigger},
            )  # fmt: skip
            return
        conversation = (
            await session.get(Conversation, event.conversation_id) if event.conversation_id else None
        )
        if conversation is None:
            raise ActionNotApplicable(f"{kind} needs a conversation; the event has none")
        if kind == "set_priority":
            await automated.set_priority(session, conversation.id, float(action["value"]), actor)
        elif kind == "add_tag":
            await _add_tag(session, conversation.id, str(action["tag"]))
        elif kind == "assign_team":
            await automated.route_to_team(session, conversation, str(action["skill"]), actor, self._settings)
        elif kind == "assign_agent":
            await automated.route_to_agent(
                session, conversation, str(action["agent"]), actor, self._settings, self._notifier
            )
        elif kind == "send_message":
            if is_marketing(action):
                await _check_consent(session, conversation)
            await automated.send_message(session, conversation, str(action["text"]), self._notifier)
        elif kind == "retention_offer":
            await self._offer(session, conversation)
        elif kind == "hand_back":
            await automated.hand_back(session, conversation.id, actor, self._notifier)
        elif kind == "close":
            await automated.close(session, conversation, actor, self._notifier)
        else:
            raise ActionNotApplicable(f"unknown action {kind!r}")

    async def _offer(self, session: AsyncSession, conversation: Conversation) -> None:
        """The retention-offer path decides (experiment arm or control, its own consent check and contact
        cap) and logs its `retention_offer` decision; an offer it makes is sent as a company message."""
        customer = await session.get(Customer, conversation.customer_id) if conversation.customer_id else None
        if customer is None:
            raise ActionNotApplicable("retention_offer needs a known customer; the conversation has none")
        decided = await retention.decide(
            session, conversation, customer, self._settings, trigger="automation_rule"
        )
        if decided.offer is None:
            await session.commit()  # the decision row says why there was no offer
            return
        await automated.send_message(session, conversation, decided.offer, self._notifier)


async def _check_consent(session: AsyncSession, conversation: Conversation) -> None:
    """Consent again at the moment of sending: a supervisor's retry of a capped marketing message skips the
    guardrails, and the customer may have withdrawn consent since the event."""
    customer = await session.get(Customer, conversation.customer_id) if conversation.customer_id else None
    context = {
        "marketing_consent": bool(customer and customer.marketing_consent),
        "contact_channels": list(customer.contact_channels or []) if customer else [],
    }
    if (reason := consent_refusal(context)) is not None:
        raise ActionNotApplicable(reason)


def _all_done(rules: list[CompiledRule], done: frozenset[str]) -> bool:
    planned = {fingerprint(action.model_dump(mode="json")) for r in rules for action in r.definition.actions}
    return planned <= done


async def _add_tag(session: AsyncSession, conversation_id: str, tag: str) -> None:
    query = select(ConversationTag.id).where(
        ConversationTag.conversation_id == conversation_id, ConversationTag.tag == tag
    )
    if (await session.execute(query)).first() is None:
        session.add(ConversationTag(conversation_id=conversation_id, tag=tag))
        await session.commit()


async def _customer_message_at(session: AsyncSession, conversation_id: str, at: datetime) -> Message | None:
    """The customer message the event is about: the newest one stored by the event's time (the hub stamps
    the event with the message's own time; the slack covers its trip through a float timestamp)."""
    query = (
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.sender == "customer",
            Message.created_at <= at + MESSAGE_TIME_SLACK,
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def _latest_case(session: AsyncSession, conversation_id: str, resolved: bool) -> Case | None:
    query = select(Case).where(Case.conversation_id == conversation_id)
    if resolved:
        query = query.where(Case.resolved_at.is_not(None)).order_by(Case.resolved_at.desc())
    else:
        query = query.order_by(Case.id.desc())
    return (await session.execute(query.limit(1))).scalars().first()


def _firing(item: PlannedAction) -> Firing:
    event = item.event
    return Firing(
        rule_id=item.rule_id,
        version_id=item.version_id,
        event_key=event.key,
        action_index=item.action_index,
        fingerprint=item.fingerprint,
        action_type=item.type,
        contact=item.contact,
        outcome="pending" if item.outcome == "run" else "blocked",
        conversation_id=event.conversation_id,
        customer_id=event.customer_id,
        at=event.at,
    )


def version_label(rule_id: int, version_id: int) -> str:
    return f"rule:{rule_id}/version:{version_id}"


def _decide(session: AsyncSession, item: PlannedAction) -> None:
    """Every firing is a decision: the rule version, the event and the context it saw."""
    event = item.event
    decisions.record(
        session,
        "automation",
        action=item.type if item.outcome == "run" else f"blocked:{item.type}",
        version=version_label(item.rule_id, item.version_id),
        inputs={"event": event.as_dict(), "context": dict(item.context), "action": _public(item.action)},
        reasons=[item.reason] if item.reason else [],
        conversation_id=event.conversation_id,
        case_id=event.case_id,
        customer_id=event.customer_id,
        message_id=event.message_id,
    )


def _public(action: dict[str, Any]) -> dict[str, Any]:
    """An action as the decision log keeps it: a webhook's secret stays out."""
    return {k: v for k, v in action.items() if k != "secret"}


def _exception(item: PlannedAction, firing_id: int, kind: str, reason: str) -> AutomationException:
    event = item.event
    return AutomationException(
        rule_id=item.rule_id,
        version_id=item.version_id,
        firing_id=firing_id,
        conversation_id=event.conversation_id,
        case_id=event.case_id,
        customer_id=event.customer_id,
        action=item.action,
        event={**event.as_dict(), "context": dict(item.context)},
        kind=kind,
        reason=reason,
    )


def _why(exc: Exception) -> str:
    if isinstance(exc, ActionNotApplicable | CaseStateError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"[:2000]
