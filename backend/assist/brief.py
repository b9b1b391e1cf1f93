"""The hand-off brief: what an agent needs to know before the first reply, each statement with its source.

Extractive and template-based, never generated: every statement is a template filled from stored messages
(their parse, text, citations) or from the hand-off decision row, and carries the ids of every message it
rests on (`sources`; `message_id` is the one the inbox scrolls to), so the inbox can link them and a verifier
can check them (ml/brief_support.py, in `make eval-assist`). Sections:

- wants: each customer message with a topical intent (and the entities the bot found in it), and each the bot
  did not read (written after the hand-off, or while the bot was down);
- answered: each bot reply, with the knowledge articles it cited;
- facts: what the bot's actions fetched from the service API (orders and their status). Those results are
  not stored anywhere (the action server only turns them into replies), so they are read back from the bot's
  replies: the sentence of a reply that names an order number and the sentences after it about the same
  order. `facts_source` says so;
- sentiment: the customer's sentiment per message, first to last, and the trend: from the first score to the
  last and the negative streak at the end, citing the first message, the streak's and the last;
- handover: why the conversation was handed over: the hand-off decision row of the decision log (its
  reasons, score and threshold), pointing at the customer message of that turn and quoting it.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.models import Case
from backend.conversations.models import Message
from backend.decisions.models import Decision
from contract.service_api import NON_TOPICAL_INTENTS

ORDER_NUMBER = re.compile(r"\bORD-\d{4,}\b")
SENTENCE = re.compile(r"(?<=[.!?])\s+")
QUOTE_CHARS = 160
FACT_QUOTE_CHARS = 360  # an order look-up's status, carrier, tracking number, dates and items
UNREAD = "Wrote, not read by the bot"
FACTS_SOURCE = "derived from the bot's replies: the service API's results are not stored"


@dataclass
class Statement:
    section: str  # wants, answered, facts, sentiment, handover
    text: str
    message_id: int
    data: dict[str, Any] = field(default_factory=dict)
    # Every message the statement rests on, oldest first (a trend needs more than one); default: message_id.
    sources: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.sources:
            self.sources = [self.message_id]


@dataclass
class Brief:
    case_id: int
    conversation_id: str
    statements: list[Statement]
    handover_reason: str
    handover_decision_id: int | None
    facts_source: str = FACTS_SOURCE


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"


async def build(session: AsyncSession, case: Case) -> Brief:
    messages = await _before_agents(session, case)
    decision = await handoff_decision(session, case)
    statements = [
        *_wants(messages),
        *_answered(messages),
        *_facts(messages),
        *_sentiment(messages),
    ]
    reason, handover = _handover(case, decision, messages)
    if handover is not None:
        statements.append(handover)
    return Brief(case.id, case.conversation_id, statements, reason, decision.id if decision else None)


async def _before_agents(session: AsyncSession, case: Case) -> list[Message]:
    """The customer's and the bot's messages before this case's first agent reply: what was handed over."""
    query = select(Message).where(Message.conversation_id == case.conversation_id).order_by(Message.id)
    messages = list((await session.execute(query)).scalars())
    first_agent = next(
        (m.id for m in messages if m.sender == "agent" and m.created_at >= case.created_at), None
    )
    return [
        m for m in messages if m.sender in ("customer", "bot") and (first_agent is None or m.id < first_agent)
    ]


async def handoff_decision(session: AsyncSession, case: Case) -> Decision | None:
    """The decision logged against this case, else the conversation's latest one that handed over."""
    query = (
        select(Decision)
        .where(Decision.kind == "handoff", Decision.conversation_id == case.conversation_id)
        .order_by(Decision.id.desc())
    )
    rows = list((await session.execute(query)).scalars())
    return next((d for d in rows if d.case_id == case.id), None) or next(
        (d for d in rows if d.action == "handoff"), None
    )


def _wants(messages: list[Message]) -> list[Statement]:
    found = []
    for m in messages:
        if m.sender == "customer" and m.intent is None and m.text.strip():
            # Written after the hand-off (the bot is not asked while a person owns the conversation) or while
            # the bot was down: often the customer's real question, and nothing else in the brief shows it.
            found.append(Statement("wants", f"{UNREAD}: “{quote(m.text)}”", m.id, {"intent": None}))
            continue
        if m.sender != "customer" or not m.intent or m.intent in NON_TOPICAL_INTENTS:
            continue
        entities = {e.get("entity"): e.get("value") for e in m.entities or [] if e.get("entity")}
        given = "".join(f", {k} {v}" for k, v in entities.items())
        confidence = f"{m.intent_confidence:.2f}" if m.intent_confidence is not None else "?"
        text = f"Asked about {m.intent.replace('_', ' ')} ({confidence}{given}): “{quote(m.text)}”"
        found.append(Statement("wants", text, m.id, {"intent": m.intent, "entities": entities}))
    return found


def _answered(messages: list[Message]) -> list[Statement]:
    found = []
    for m in messages:
        if m.sender != "bot":
            continue
        cited = [c.get("title", "") for c in m.citations or []]
        source = f" (from {', '.join(cited)})" if cited else ""
        found.append(
            Statement("answered", f"Bot replied{source}: “{quote(m.text)}”", m.id, {"citations": cited})
        )
    return found


def _facts(messages: list[Message]) -> list[Statement]:
    found = []
    for m in messages:
        if m.sender != "bot":
            continue
        for numbers, sentences in order_passages(m.text):
            passage = quote(" ".join(sentences), FACT_QUOTE_CHARS)
            for number in numbers:
                found.append(Statement("facts", f"Order {number}: “{passage}”", m.id, {"order": number}))
    return found


def order_passages(text: str) -> list[tuple[list[str], list[str]]]:
    """Each sentence naming orders, with the sentences after it up to the next one naming an order: the bot
    words one look-up as several sentences (status; carrier and tracking number; dates; items) and names the
    order only in the first."""
    passages: list[tuple[list[str], list[str]]] = []
    for sentence in SENTENCE.split(text):
        numbers = list(dict.fromkeys(ORDER_NUMBER.findall(sentence)))
        if numbers:
            passages.append((numbers, [sentence]))
        elif passages:
            passages[-1][1].append(sentence)
    return passages


def _sentiment(messages: list[Message]) -> list[Statement]:
    scored = [m for m in messages if m.sender == "customer" and m.sentiment_score is not None]
    found = [
        Statement(
            "sentiment",
            f"{m.sentiment_label or 'scored'} ({m.sentiment_score:+.2f})",
            m.id,
            {"label": m.sentiment_label, "score": m.sentiment_score},
        )
        for m in scored
    ]
    streak = 0
    for m in reversed(scored):
        if m.sentiment_label != "negative":
            break
        streak += 1
    if len(scored) >= 2:
        first, last = scored[0].sentiment_score or 0.0, scored[-1].sentiment_score or 0.0
        direction = "fell" if last < first - 0.05 else "rose" if last > first + 0.05 else "stayed level"
        ending = f", {streak} negative in a row at the end" if streak > 1 else ""
        text = f"Sentiment {direction} from {first:+.2f} to {last:+.2f}{ending}"
        cited = sorted({scored[0].id, *(m.id for m in scored[len(scored) - streak :]), scored[-1].id})
        data = {"trend": direction, "negative_streak": streak}
        found.append(Statement("sentiment", text, scored[-1].id, data, cited))
    return found


def _handover(case: Case, decision: Decision | None, messages: list[Message]) -> tuple[str, Statement | None]:
    """The decision row's reasons when the policy handed over; the case's own reason when the bot's action
    did (the policy then logged "continue" for that turn, with the case attached)."""
    if decision is not None and decision.action == "handoff" and decision.reasons:
        reason = "; ".join(decision.reasons)
    else:
        reason = case.reason
    customers = [m.id for m in messages if m.sender == "customer"]
    anchor = decision.message_id if decision is not None and decision.message_id else None
    anchor = anchor or (customers[-1] if customers else None)
    if anchor is None:
        return reason, None
    data: dict[str, Any] = {"decision_id": decision.id if decision else None}
    detail = ""
    if decision is not None:
        data |= {"policy": decision.version, "score": decision.score, "threshold": decision.threshold}
        if decision.score is not None and decision.threshold is not None:
            detail = f" (score {decision.score:.2f} against {decision.threshold:.2f}, {decision.version})"
        else:
            detail = f" ({decision.version})"
    # The turn's own words: the reasons name its cues, and the wants leave out a message the bot read as
    # small talk (a threat misread as thanks), so without this the agent would not see what triggered it.
    said = next((m.text for m in messages if m.id == anchor and m.sender == "customer"), "")
    after = f", after “{quote(said)}”" if said.strip() else ""
    return reason, Statement("handover", f"Handed over: {reason}{detail}{after}", anchor, data)
