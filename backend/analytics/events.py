"""The analytics event vocabulary, what each event adds to the minute buckets, and Rasa's tracker events.

One source per fact, so nothing is counted twice:

- conversation_started: backend, when a widget session opens a conversation (lifecycle/conversations.py).
- message_received (intent, sentiment): Rasa's `user` tracker event for every message Rasa processed; the hub
  itself only for messages Rasa never saw (a human owns the conversation).
- bot_replied: Rasa's `bot` tracker events with text or buttons (the backend's own notices are not).
- handoff: backend, when a new case is opened (lifecycle/handoff.py), whether the bot's hand-off action or the
  escalation score asked for it; Rasa's action events are not counted.
- case_assigned, sla_breached: backend, the routing loop (cases/dispatcher.py) via lifecycle/cases.py.
- first_response, case_resolved, csat_given: backend, the agent's first reply, resolve or hand back, the
  customer's rating (lifecycle/cases.py).
- conversation_ended: backend, lifecycle/conversations.py when the idle sweep (analytics/service.py) asks.

With RabbitMQ configured, Rasa's tracker events arrive through the queue (analytics/consumer.py); without
it the hub turns the parse and replies it already has into the same Rasa-shaped events and runs the same
translation (`from_rasa_event`) in process. Either way exactly one path feeds the Rasa-sourced facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from backend.risk.features import signed_sentiment

NO_INTENT = "none"  # messages without a parse (a human owned the conversation)


class Kind(StrEnum):
    CONVERSATION_STARTED = "conversation_started"
    MESSAGE_RECEIVED = "message_received"
    BOT_REPLIED = "bot_replied"
    HANDOFF = "handoff"
    CASE_ASSIGNED = "case_assigned"
    FIRST_RESPONSE = "first_response"
    CASE_RESOLVED = "case_resolved"
    CSAT_GIVEN = "csat_given"
    SLA_BREACHED = "sla_breached"
    CONVERSATION_ENDED = "conversation_ended"


@dataclass(frozen=True)
class Event:
    kind: Kind
    at: datetime
    conversation_id: str | None = None
    intent: str | None = None  # message_received
    sentiment_label: str | None = None  # message_received: negative, neutral, positive
    sentiment_score: float | None = None
    seconds: float | None = (
        None  # first_response: hand-off to first agent reply; case_resolved: hand-off to resolution
    )
    score: int | None = None  # csat_given: 1-5
    human: bool | None = None  # conversation_ended: a human took part (a case was opened)


@dataclass(frozen=True)
class Contribution:
    """What one event adds to one (metric, key) bucket: one to the count, `value` to the sums."""

    metric: str
    key: str = ""
    value: float | None = None


def contributions(event: Event) -> list[Contribution]:
    """The bucket updates of one event. Every figure of windows.figures() is a function of these sums."""
    kind = event.kind
    if kind is Kind.MESSAGE_RECEIVED:
        intent = event.intent or NO_INTENT
        out = [Contribution("message", intent)]
        signed = signed_sentiment(event.sentiment_label, event.sentiment_score)
        if event.sentiment_label is not None and signed is not None:
            out.append(Contribution("sentiment", intent, signed))
            if event.sentiment_label == "negative":
                out.append(Contribution("negative", intent))
        return out
    if kind is Kind.CONVERSATION_ENDED:
        return [Contribution("ended", "human" if event.human else "bot")]
    if kind in (Kind.FIRST_RESPONSE, Kind.CASE_RESOLVED):
        return [Contribution(METRIC_OF[kind], "", event.seconds)] if event.seconds is not None else []
    if kind is Kind.CSAT_GIVEN:
        return [Contribution("csat", "", float(event.score))] if event.score is not None else []
    return [Contribution(METRIC_OF[kind])]


METRIC_OF = {
    Kind.CONVERSATION_STARTED: "conversation",
    Kind.BOT_REPLIED: "bot_reply",
    Kind.HANDOFF: "handoff",
    Kind.CASE_ASSIGNED: "assigned",
    Kind.FIRST_RESPONSE: "first_response",
    Kind.CASE_RESOLVED: "resolution",
    Kind.SLA_BREACHED: "sla_breach",
}


# ------------------------------------------------------------------------------ Rasa tracker events


def from_rasa_event(body: Mapping[str, Any]) -> list[Event]:
    """Translate one Rasa tracker event, as Rasa's pika broker publishes it (event dict + sender_id).

    `user` events carry parse_data with the intent and the `sentiment` nlu/sentiment.py adds; `bot` events
    with text or buttons are replies (a custom-only payload, such as citations, belongs to the reply before
    it). Every other event (action, slot, session_started, action_listen, ...) says nothing analytics counts:
    the hand-off action's effect is counted once, where the backend opens the case.
    """
    kind = body.get("event")
    at = _timestamp(body.get("timestamp"))
    conversation = body.get("sender_id")
    conversation = str(conversation) if conversation is not None else None
    if kind == "user":
        parse = body.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name")
        sentiment = parse.get("sentiment") or {}
        score = sentiment.get("score")
        return [
            Event(
                Kind.MESSAGE_RECEIVED,
                at,
                conversation,
                intent=str(intent) if intent else None,
                sentiment_label=sentiment.get("label"),
                sentiment_score=float(score) if isinstance(score, int | float) else None,
            )
        ]
    if kind == "bot" and (body.get("text") or (body.get("data") or {}).get("buttons")):
        return [Event(Kind.BOT_REPLIED, at, conversation)]
    return []


def _timestamp(value: object) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.now(UTC)
