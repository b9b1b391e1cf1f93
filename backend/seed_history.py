"""A past for the demo shop: weeks of conversations, hand-offs, cases, feedback and outcomes, from a seed.

Run by `python -m backend.seed` (so by `make run`) after the company itself, only into a database it just
seeded. The customers' messages are the TEXTS of the hand-written labelled conversations of the **dev** sets
(ml/data/conversations/set_a.yml, set_b.yml; never set_c.yml, the test set), each used `copies` times,
re-timed over the weeks and given to seeded customers. What is invented, and how:

- the parse of each customer message: the writer's intent note (docs/labelling.md) and the labelled sentiment,
  with a score drawn around it, then a misparse on NLU_ERROR_SHARE of the turns (half of them the sentiment
  read one step off, half the message not understood: `nlu_fallback`), so the rules policy acting on the
  parses makes the kind of mistakes the quality page and the feedback are there to show; the Rasa model's own
  errors (make eval-decisions) are more and of other kinds;
- the bot's replies: one stock reply per intent (the labelled sets hold the customers' side only);
- who writes: customers get a persona from the seeded generator: `steady` (few contacts, the calm
  conversations), `troubled` (more contacts, the conversations with dissatisfied turns and hand-offs, lower
  CSAT, the newest cases still open) or `quiet` (no conversation); payment failures make `troubled` likelier.
  This is what gives the customer segments (backend/analytics/segments.py: contacts, sentiment, open cases,
  CSAT, activity) something to find;
- the hand-off decisions: the rules policy (backend/handoff/policy.py) on those parses after every customer
  turn, logged through `decisions.service.record`; a conversation stops at its first hand-off (the policy's,
  or the bot's own for an explicit request or a cancellation/security case: labelling rules H1, H4);
- agent feedback: the labelled turn's own `decision` (written by the labelling rules, never by a model) on
  FEEDBACK_SHARE of the decisions that opened a case (the agent who took it) and REVIEW_SHARE of the others
  (a supervisor's review); outcomes are then joined by `join_outcomes()`, as the scheduled job would;
- past sales leads, last and from a generator of their own: seeded customers' real CRM facts, a simulated
  buyer's hidden traits, message and conversion (backend/leads/seeding.py; the outcomes are simulated).

Deterministic for a seed and an `end` (the history's last moment): the same seed gives the same history
shifted in time. Without the labelled sets (the backend image ships no ml/) there is no history.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.cases import routing
from backend.core.config import Settings
from backend.customers.models import Customer
from backend.decisions import service as decisions
from backend.decisions.outcomes import join_outcomes
from backend.handoff.features import TurnView
from backend.handoff.policy import RulesPolicy
from backend.leads.seeding import seed_past_leads
from backend.lifecycle.seeding import PastCase, PastMessage, add_past_conversation
from contract.service_api import DEFAULT_SKILL, HANDOFF_MESSAGE, NON_TOPICAL_INTENTS, SKILL_BY_INTENT

DATA_DIR = Path(__file__).resolve().parent.parent / "ml" / "data" / "conversations"
DEV_SETS = ("set_a.yml", "set_b.yml")  # set_c.yml is the test set: never seeded, never trained on
WEEKS, COPIES = 6, 2
FEEDBACK_SHARE = 0.6  # of the hand-off decisions that opened a case: the agent who took it says needed or not
REVIEW_SHARE = 0.15  # of the other hand-off decisions: a supervisor's review
PERSONAS = ("steady", "troubled", "quiet")
NLU_ERROR_SHARE = 0.12
MISREAD_SENTIMENT = {"neutral": "negative", "negative": "neutral", "positive": "neutral"}
OPEN_CASE_DAYS = 3  # a troubled customer's case opened this close to `end` is still with its agent
# The writer's notes use a few names the bot does not (docs/labelling.md); the bot's for the same need.
INTENT_OF_NOTE = {"account_security": "security_concern"}
BOT_REPLIES = {
    "greet": "Hi! I'm the Northwind Goods virtual assistant. What can I do for you today?",
    "goodbye": "Thanks for chatting with Northwind Goods. Have a great day!",
    "thanks": "You're very welcome!",
    "order_status": "I've looked up your order: it is on its way, and the tracking link is in your account.",
    "shipping_delay": "I'm sorry your parcel is late. Orders over 5 days late can be reshipped or refunded.",
    "return_refund": "You can return items within 30 days from your account; refunds arrive in 5-7 days.",
    "billing_question": "Your invoices and charges are under Billing in your account.",
    "invoice_copy": "I've sent a copy of the invoice to the e-mail address on your account.",
    "failed_payment": "A failed payment is retried after 3 days; you can update your card under Billing.",
    "change_plan": "You can change your plan under Subscription; the new price applies from the next month.",
    "cancel_subscription": "Before you go: we can give you 2 months at half price. Would you like that?",
    "pricing": "Basic is $4.99, Plus $14.99 and Pro $29.99 a month.",
    "product_question": "Here is what our help centre says about that.",
    "technical_problem": "Please try signing out and in again; if it still fails, tell me what you see.",
    "reset_password": "I've sent a password reset link to your e-mail address.",
    "account_locked": "Your account unlocks after 30 minutes, or at once with the reset link I've just sent.",
    "update_details": "You can change your details under Profile in your account.",
    "complaint": "I'm sorry about this. Would you like me to connect you with a person?",
    "not_helpful": "Sorry that didn't help. Shall I connect you with a member of our team?",
    "nlu_fallback": "Sorry, I didn't quite get that. Could you say it another way?",
}
DEFAULT_REPLY = "Thanks, let me help you with that."
DISPOSITIONS = {"steady": ("solved", "refunded", "replaced"), "troubled": ("solved", "refunded", "other")}
CSAT_WEIGHTS = {"steady": (1, 1, 3, 10, 15), "troubled": (8, 7, 6, 4, 2)}  # ratings 1..5


@dataclass(frozen=True)
class SeedTurn:
    text: str
    intent: str
    sentiment: str
    handoff: bool  # the labelled decision (docs/labelling.md rules)
    rule: str | None


@dataclass(frozen=True)
class SeedConversation:
    id: str
    turns: tuple[SeedTurn, ...]

    @property
    def troubled(self) -> bool:
        return any(t.handoff or t.sentiment == "negative" for t in self.turns)


@dataclass(frozen=True)
class Scheduled:
    week: int
    conversation: SeedConversation


@dataclass
class HistoryReport:
    conversations: int = 0
    customer_messages: int = 0
    cases: int = 0
    handoff_decisions: int = 0
    feedback: int = 0
    outcomes: int = 0
    personas: dict[str, int] | None = None
    leads: int = 0  # past sales leads, their outcomes simulated (backend/leads/seeding.py)


def dev_conversations(data_dir: Path = DATA_DIR) -> list[SeedConversation]:
    """The dev sets' conversations with the writer's intent notes (ml/conversations.py drops those)."""
    found = []
    for name in DEV_SETS:
        path = data_dir / name
        if not path.exists():
            return []
        body = yaml.safe_load(path.read_text())
        if body.get("split") != "dev":
            raise ValueError(f"{name} is not a dev set: the history is made of dev conversations only")
        for raw in body["conversations"]:
            turns = tuple(
                SeedTurn(
                    text=t["text"],
                    intent=INTENT_OF_NOTE.get(t.get("intent"), t.get("intent") or "nlu_fallback"),
                    sentiment=t["sentiment"],
                    handoff=t["decision"] == "handoff",
                    rule=t.get("rule"),
                )
                for t in raw["turns"]
            )
            found.append(SeedConversation(str(raw["id"]), turns))
    return found


def schedule(items: list[SeedConversation], weeks: int, copies: int, rng: random.Random) -> list[Scheduled]:
    """Each conversation `copies` times, each copy in another week when there are enough weeks; weeks of
    near-equal size. Oldest week first; within a week in no particular order."""
    planned = []
    for copy in range(copies):
        order = list(items)
        rng.shuffle(order)
        for index, conversation in enumerate(order):
            # Copy c of the conversation at position i goes to week (i * weeks // n + c) mod weeks.
            week = (index * weeks // len(order) + copy * max(1, weeks // max(copies, 1))) % weeks
            planned.append(Scheduled(week, conversation))
    planned.sort(key=lambda s: s.week)
    return planned


def _persona(customer: Customer, rng: random.Random) -> str:
    if customer.email.startswith("demo@"):
        return "steady"  # the demo shopper's own page should look like a regular customer's
    weights = (4, 5, 2) if customer.payment_failures_90d else (5, 2, 4)
    return rng.choices(PERSONAS, weights=weights)[0]


def _sentiment_score(label: str, rng: random.Random) -> float:
    if label == "positive":
        return round(rng.uniform(0.5, 0.95), 3)
    if label == "negative":
        return round(-rng.uniform(0.5, 0.95), 3)
    return round(rng.uniform(-0.15, 0.15), 3)


def _parse(turn: SeedTurn, rng: random.Random) -> tuple[str, str]:
    """The (intent, sentiment) the bot read: the labelled one, or on NLU_ERROR_SHARE of turns a misparse."""
    if rng.random() >= NLU_ERROR_SHARE:
        return turn.intent, turn.sentiment
    if rng.random() < 0.5:
        return turn.intent, MISREAD_SENTIMENT[turn.sentiment]
    return "nlu_fallback", turn.sentiment


def _skill(intents: list[str]) -> str:
    topical = [i for i in intents if i not in NON_TOPICAL_INTENTS]
    return SKILL_BY_INTENT.get(topical[-1], DEFAULT_SKILL) if topical else DEFAULT_SKILL


async def seed_history(
    session: AsyncSession,
    rng: random.Random,
    end: datetime,
    settings: Settings,
    weeks: int = WEEKS,
    copies: int = COPIES,
    data_dir: Path = DATA_DIR,
) -> HistoryReport:
    """Write the history ending at `end` and commit; see the module's docstring."""
    items = dev_conversations(data_dir)
    customers = list((await session.execute(select(Customer).order_by(Customer.id))).scalars())
    agents = list(
        (await session.execute(select(Agent).where(Agent.role != "admin").order_by(Agent.id))).scalars()
    )
    report = HistoryReport()
    if not items or not customers or not agents or weeks < 1:
        return report
    personas = {c.id: _persona(c, rng) for c in customers}
    report.personas = dict(Counter(personas.values()))
    pools = {p: [c for c in customers if personas[c.id] == p] for p in ("steady", "troubled")}
    pools = {p: pool or customers for p, pool in pools.items()}
    weights = routing.PriorityWeights.from_settings(settings)
    start = end - timedelta(days=7 * weeks)
    rules = RulesPolicy()
    for planned in schedule(items, weeks, copies, rng):
        conversation = planned.conversation
        # Troubled conversations mostly go to troubled customers, and calm ones to steady customers.
        matches = conversation.troubled == (rng.random() < 0.8)
        persona = "troubled" if matches else "steady"
        customer = rng.choice(pools[persona])
        persona = personas[customer.id] if personas[customer.id] in pools else persona
        day = start + timedelta(days=7 * planned.week + rng.randrange(7))
        at = day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
            hours=rng.choice(range(7, 23)), minutes=rng.randrange(60), seconds=rng.randrange(60)
        )
        if at < start:  # the first week's first day began before `start`'s hour
            at += timedelta(days=1)
        if at >= end - timedelta(minutes=30):  # the conversation and a case's first answer are over by `end`
            at = end - timedelta(minutes=rng.randrange(30, 300))
        await _one_conversation(
            session, conversation, customer, persona, at, end, agents, weights, rules, rng, report
        )
    await session.commit()
    while (done := await join_outcomes(session, now=end)) > 0:
        report.outcomes += done
    # Drawn last, from a generator of their own, so the history above stays what it was before leads.
    report.leads = await seed_past_leads(session, random.Random(rng.getrandbits(32)), end, weeks, settings)
    await session.commit()
    return report


async def _one_conversation(
    session: AsyncSession,
    conversation: SeedConversation,
    customer: Customer,
    persona: str,
    at: datetime,
    end: datetime,
    agents: list[Agent],
    weights: routing.PriorityWeights,
    rules: RulesPolicy,
    rng: random.Random,
    report: HistoryReport,
) -> None:
    messages: list[PastMessage] = []
    views: list[TurnView] = []
    decided: list[tuple[int, Any, SeedTurn, datetime]] = []  # (message index, decision, turn, time)
    handed_over: tuple[str, bool] | None = None  # (reason, by the policy)
    for turn in conversation.turns:
        intent, sentiment = _parse(turn, rng)
        score = _sentiment_score(sentiment, rng)
        confidence = round(rng.uniform(0.25, 0.45) if intent == "nlu_fallback" else rng.uniform(0.7, 0.99), 3)
        messages.append(PastMessage("customer", turn.text, at, intent, confidence, sentiment, score))
        views.append(TurnView(intent, sentiment, score, turn.text))
        decision = rules.decide(views)
        decided.append((len(messages) - 1, decision, turn, at + timedelta(seconds=1)))
        at += timedelta(seconds=rng.uniform(1.0, 3.0))
        # The bot's own hand-offs (labelling rules H1 and H4): an explicit request or yes to its offer of a
        # person, a security report, a confirmed cancellation. The policy's are H2 and H3's business.
        bot_own = turn.handoff and turn.rule in ("H1", "H4")
        if decision.handoff or bot_own:
            messages.append(PastMessage("bot", HANDOFF_MESSAGE, at))
            reason = (
                "; ".join(decision.reasons) if decision.handoff else f"the bot handed over ({turn.intent})"
            )
            handed_over = (reason, decision.handoff)
            break
        messages.append(PastMessage("bot", BOT_REPLIES.get(turn.intent, DEFAULT_REPLY), at))
        at += timedelta(seconds=rng.uniform(15.0, 120.0))
    case = None
    if handed_over is not None:
        case = _case(conversation, customer, persona, at, end, agents, weights, handed_over[0], rng)
    _, rows, seeded_case = await add_past_conversation(session, customer.id, messages, case)
    report.conversations += 1
    report.customer_messages += len(decided)
    if seeded_case is not None and case is not None:
        report.cases += 1
        decisions.record(
            session, "priority", action=f"priority {case.priority:.2f}", version="rules",
            inputs={"escalation_risk": None, "churn_risk": None, "customer_value": case.customer_value},
            scores={"priority": case.priority}, score=case.priority, case_id=seeded_case.id,
            conversation_id=seeded_case.conversation_id, customer_id=customer.id, at=case.created_at,
        )  # fmt: skip
        decisions.record(
            session, "routing", action=f"agent:{case.agent_id}", version="rules",
            inputs={"skill": case.skill, "language": "en"}, scores={"priority": case.priority},
            score=case.priority, conversation_id=seeded_case.conversation_id, case_id=seeded_case.id,
            customer_id=customer.id, at=case.created_at + timedelta(seconds=2),
        )  # fmt: skip
    for position, (index, decision, turn, when) in enumerate(decided):
        last = position == len(decided) - 1
        opened = seeded_case if last and seeded_case is not None else None
        row = decisions.record(
            session,
            "handoff",
            action="handoff" if decision.handoff else "continue",
            version=decision.policy,
            inputs={
                "features": decision.features,
                "bot_handed_over": opened is not None and not decision.handoff,
            },
            reasons=decision.reasons,
            latency_ms=round(rng.uniform(0.05, 0.4), 3),
            conversation_id=rows[index].conversation_id,
            case_id=opened.id if opened is not None else None,
            customer_id=customer.id,
            message_id=rows[index].id,
            at=when,
        )
        report.handoff_decisions += 1
        share = FEEDBACK_SHARE if opened is not None else REVIEW_SHARE
        if rng.random() < share and when < end - timedelta(hours=1):
            label = "needed" if turn.handoff else "not_needed"
            if opened is not None and case is not None:
                by = next(a.email for a in agents if a.id == case.agent_id)
                decisions.give_feedback(row, label, None, by)
                row.feedback_at = case.first_response_at
            else:
                supervisor = next((a.email for a in agents if a.role == "supervisor"), agents[0].email)
                decisions.mark_reviewed(row, label, "seeded review", supervisor)
                row.feedback_at = row.reviewed_at = when + timedelta(days=1)
            report.feedback += 1
    await session.flush()


def _case(
    conversation: SeedConversation,
    customer: Customer,
    persona: str,
    handed_at: datetime,
    end: datetime,
    agents: list[Agent],
    weights: routing.PriorityWeights,
    reason: str,
    rng: random.Random,
) -> PastCase:
    intents = [t.intent for t in conversation.turns]
    skill = _skill(intents)
    able = [a for a in agents if skill in (a.skills or {})] or agents
    agent = rng.choice(able)
    accepted = handed_at + timedelta(seconds=rng.uniform(20, 240))
    first = accepted + timedelta(seconds=rng.uniform(10, 120))
    kind = persona if persona in DISPOSITIONS else "steady"
    still_open = kind == "troubled" and handed_at > end - timedelta(days=OPEN_CASE_DAYS)
    resolved = None if still_open else first + timedelta(minutes=rng.uniform(4, 45))
    if resolved is not None and resolved > end:
        resolved = None  # still being worked on at `end`
    rated = resolved is not None and rng.random() < 0.7
    value = float(customer.lifetime_value)
    return PastCase(
        reason=reason[:500],
        skill=skill,
        created_at=handed_at,
        agent_id=agent.id,
        agent_name=agent.name,
        accepted_at=accepted,
        first_response_at=first,
        first_response_text=f"Hi, this is {agent.name.split()[0]}. I've read the conversation and I'm on it.",
        resolved_at=resolved,
        disposition=None if resolved is None else rng.choice(DISPOSITIONS[kind]),
        csat=rng.choices(range(1, 6), weights=CSAT_WEIGHTS[kind])[0] if rated else None,
        priority=round(routing.base_priority(None, None, value, weights), 2),
        customer_value=value,
    )
