"""Customer data export and erasure (GDPR), the redacted copy of every message, and the training export.

Per table, what erasure does (and why):
- customers: the row stays as a tombstone (name "Erased customer", email erased-<id>@erased.invalid, no
  phone, no external ref, status "erased", signup date cut to the month, activity cleared). Deleting it
  would let SQLite hand the same id to the next customer, and the tombstone keeps aggregate-safe links
  (conversations and cases per customer, plan, revenue) without anything that names the person.
- orders: deleted (items, tracking numbers, dates and totals are the person's purchase history).
- conversations (linked ones, and anonymous ones where the customer typed their e-mail address, which are
  linked now): kept, linked to the tombstone, `transcript_erased_at` set; every message's text (and its
  redacted copy) becomes "[erased]" and its entities are dropped. Intent, sentiment, sender and timestamps
  stay: contact counts, intent mixes and the risk models' training rows need no words.
- cases: kept (counts, skill, SLA, CSAT, disposition); the hand-off reason, which quotes the customer, is
  replaced, and so are the survey's free-text answers (the ratings stay).
- risk scores of the customer (churn inputs and reasons): deleted. Turn scores of the conversations hold
  model features only and stay.
- leads (sales interest): kept (interest, score, outcome feed the lead model and its figures); the sales
  team's status note, which may quote or name the person, is replaced.
- audit events about the customer, their cases, conversations and leads: who/what/when stay, free-text and
  identifying values in before/after are replaced.
- Rasa's tracker store: deleted through backend/privacy/tracker.py, or recorded as pending.
A receipt (customer_erasures) holds counts only, so a repeated erasure answers the same.

Redacted copy: stored per message (messages.text_redacted) rather than redacted on every read, because
spaCy costs ~6 ms a message and readers (training export, analytics) read the same messages many times;
the privacy worker fills it off the hot path (the customer's turn never waits for it, and a failure there
cannot touch the turn), and every reader that finds a message not done yet redacts it on the spot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import Select, bindparam, delete, func, inspect, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.audit import service as audit
from backend.audit.models import AuditEvent
from backend.cases import csat
from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.core.config import Settings
from backend.core.database import utcnow
from backend.customers.models import Customer, Order
from backend.leads.models import Lead
from backend.lifecycle import conversations as lifecycle
from backend.privacy import redactor, tracker
from backend.privacy.models import CustomerErasure
from backend.risk.models import RiskScore
from contract.embedding import from_bytes

ERASED_TEXT = "[erased]"
ERASED_NAME = "Erased customer"
# before/after keys of audit events that hold free text or identify a person; their values are replaced.
AUDIT_FREE_TEXT_KEYS = frozenset(
    {"reason", "text", "body", "note", "status_note", "comment", "name", "email", "phone"}
)


class ErasureBlocked(Exception):
    """Something still needs the customer's data (an open case); nothing was changed."""


@dataclass(frozen=True)
class Erasure:
    receipt: CustomerErasure
    already_erased: bool
    conversation_ids: list[str]


def row_dict(row: object) -> dict[str, Any]:
    """Every column of an ORM row: the export shows all that is held, including columns added later."""
    return {column.key: getattr(row, column.key) for column in inspect(row).mapper.column_attrs}


# ------------------------------------------------------------------------------------------------ export


async def _customer_conversations(session: AsyncSession, customer: Customer) -> list[Conversation]:
    """The customer's conversations: those linked to them, and anonymous ones (not signed in on the shop)
    in which the customer typed their own e-mail address."""
    typed_email = (
        select(Message.conversation_id)
        .where(Message.sender == "customer")
        .where(func.lower(Message.text).contains(customer.email.lower(), autoescape=True))
    )
    anonymous = Conversation.customer_id.is_(None) & Conversation.id.in_(typed_email)
    query = select(Conversation).where(or_(Conversation.customer_id == customer.id, anonymous))
    return list((await session.execute(query.order_by(Conversation.started_at))).scalars())


def _audit_about(
    customer_id: int, case_ids: Sequence[int], conversation_ids: Sequence[str], lead_ids: Sequence[int]
) -> Select[Any]:
    return select(AuditEvent).where(
        or_(
            (AuditEvent.entity_type == "customer") & (AuditEvent.entity_id == str(customer_id)),
            (AuditEvent.entity_type == "case") & AuditEvent.entity_id.in_([str(i) for i in case_ids]),
            (AuditEvent.entity_type == "conversation") & AuditEvent.entity_id.in_(conversation_ids),
            (AuditEvent.entity_type == "lead") & AuditEvent.entity_id.in_([str(i) for i in lead_ids]),
        )
    )


def _leads_of(customer_id: int, conversation_ids: Sequence[str]) -> Select[tuple[Lead]]:
    theirs = or_(Lead.customer_id == customer_id, Lead.conversation_id.in_(conversation_ids))
    return select(Lead).where(theirs).order_by(Lead.id)


async def export_customer(session: AsyncSession, customer: Customer) -> dict[str, Any]:
    """Everything held about one customer, as JSON-ready data."""
    conversations = await _customer_conversations(session, customer)
    conversation_ids = [c.id for c in conversations]
    messages = await _messages_by_conversation(session, conversation_ids)
    orders = (await session.execute(select(Order).where(Order.customer_id == customer.id))).scalars().all()
    cases_query = select(Case).where(
        or_(Case.customer_id == customer.id, Case.conversation_id.in_(conversation_ids))
    )
    cases = (await session.execute(cases_query.order_by(Case.id))).scalars().all()
    scores_query = select(RiskScore).where(
        or_(
            (RiskScore.subject_type == "customer") & (RiskScore.subject_id == str(customer.id)),
            (RiskScore.subject_type == "conversation") & RiskScore.subject_id.in_(conversation_ids),
        )
    )
    scores = (await session.execute(scores_query.order_by(RiskScore.id))).scalars().all()
    leads = (await session.execute(_leads_of(customer.id, conversation_ids))).scalars().all()
    audit_query = _audit_about(
        customer.id, [c.id for c in cases], conversation_ids, [lead.id for lead in leads]
    ).order_by(AuditEvent.id)
    events = (await session.execute(audit_query)).scalars().all()
    erasure = await session.scalar(select(CustomerErasure).where(CustomerErasure.customer_id == customer.id))
    return jsonable_encoder(
        {
            "exported_at": utcnow(),
            "customer": row_dict(customer),
            "erasure": row_dict(erasure) if erasure else None,
            "orders": [row_dict(order) for order in orders],
            "conversations": [
                {**row_dict(c), "messages": [_message_export(m) for m in messages.get(c.id, [])]}
                for c in conversations
            ],
            "cases": [row_dict(case) for case in cases],
            "csat": [
                {"case_id": case.id, "rating": case.csat, "resolved_at": case.resolved_at}
                for case in cases
                if case.csat is not None
            ],
            "risk_scores": [row_dict(score) for score in scores],
            "leads": [row_dict(lead) for lead in leads],
            "audit_events": [row_dict(event) for event in events],
        }
    )


def _message_export(message: Message) -> dict[str, Any]:
    row = row_dict(message)
    row.pop("text_redacted")  # our working copy of the same words; the person gets what they wrote
    if row.get("embedding") is not None:  # derived from their words: given as the bot's parse carried it
        row["embedding"] = from_bytes(row["embedding"])
    return row


async def _messages_by_conversation(
    session: AsyncSession, conversation_ids: Sequence[str]
) -> dict[str, list[Message]]:
    query = select(Message).where(Message.conversation_id.in_(conversation_ids)).order_by(Message.id)
    grouped: dict[str, list[Message]] = {}
    for message in (await session.execute(query)).scalars():
        grouped.setdefault(message.conversation_id, []).append(message)
    return grouped


def export_summary(export: dict[str, Any]) -> dict[str, int]:
    """What an export contained, by count: the audit trail's `after`, never the data itself."""
    return {
        "orders": len(export["orders"]),
        "conversations": len(export["conversations"]),
        "messages": sum(len(c["messages"]) for c in export["conversations"]),
        "cases": len(export["cases"]),
        "risk_scores": len(export["risk_scores"]),
        "leads": len(export["leads"]),
        "audit_events": len(export["audit_events"]),
    }


# ------------------------------------------------------------------------------------------------ erasure


async def erase_customer(session: AsyncSession, customer: Customer, actor: str) -> Erasure:
    """Erase the customer's personal data (see the module docstring); idempotent, one transaction."""
    receipt = await session.scalar(select(CustomerErasure).where(CustomerErasure.customer_id == customer.id))
    conversations = await _customer_conversations(session, customer)
    conversation_ids = [c.id for c in conversations]
    if receipt is not None:
        return Erasure(receipt, already_erased=True, conversation_ids=conversation_ids)
    await _refuse_if_blocked(session, customer.id, conversation_ids)
    for conversation in conversations:  # an anonymous one found by the typed e-mail is theirs from now on
        conversation.customer_id = customer.id
    summary = await _erasure_summary(session, customer.id, conversation_ids)
    case_ids = await _case_ids(session, customer.id, conversation_ids)
    leads = list((await session.execute(_leads_of(customer.id, conversation_ids))).scalars())
    about = _audit_about(customer.id, case_ids, conversation_ids, [lead.id for lead in leads])
    await scrub_audit(session, about, _identifiers(customer))
    for lead in leads:
        lead.status_note = ERASED_TEXT if lead.status_note is not None else None
    await erase_transcripts(session, conversation_ids, ERASED_TEXT)
    await session.execute(update(Case).where(Case.id.in_(case_ids)).values(reason=ERASED_TEXT))
    for case in (await session.execute(select(Case).where(Case.id.in_(case_ids)))).scalars():
        case.csat_answers = csat.erase_text(case.csat_answers, ERASED_TEXT)
    await session.execute(delete(Order).where(Order.customer_id == customer.id))
    await session.execute(
        delete(RiskScore).where(
            RiskScore.subject_type == "customer", RiskScore.subject_id == str(customer.id)
        )
    )
    _tombstone(customer)
    await tracker.request(session, conversation_ids, "erasure")
    receipt = CustomerErasure(customer_id=customer.id, erased_by=actor, summary=summary)
    session.add(receipt)
    after = {"status": "erased", "rasa_trackers_requested": len(conversation_ids)}
    audit.record(session, actor, "privacy.erase", "customer", customer.id, before=summary, after=after)
    await session.commit()
    return Erasure(receipt, already_erased=False, conversation_ids=conversation_ids)


async def _refuse_if_blocked(
    session: AsyncSession, customer_id: int, conversation_ids: Sequence[str]
) -> None:
    query = select(Case.id).where(
        or_(Case.customer_id == customer_id, Case.conversation_id.in_(conversation_ids)),
        Case.status != "resolved",
    )
    open_cases = list((await session.execute(query)).scalars())
    if open_cases:
        raise ErasureBlocked(
            f"case(s) {', '.join(map(str, open_cases))} are still open with an agent; resolve or hand them "
            "back first, then erase"
        )


async def _case_ids(session: AsyncSession, customer_id: int, conversation_ids: Sequence[str]) -> list[int]:
    query = select(Case.id).where(
        or_(Case.customer_id == customer_id, Case.conversation_id.in_(conversation_ids))
    )
    return list((await session.execute(query)).scalars())


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)


async def _erasure_summary(
    session: AsyncSession, customer_id: int, conversation_ids: Sequence[str]
) -> dict[str, int]:
    return {
        "orders": await _count(session, select(Order.id).where(Order.customer_id == customer_id)),
        "conversations": len(conversation_ids),
        "messages": await _count(
            session, select(Message.id).where(Message.conversation_id.in_(conversation_ids))
        ),
        "cases": len(await _case_ids(session, customer_id, conversation_ids)),
        "risk_scores": await _count(
            session,
            select(RiskScore.id).where(
                RiskScore.subject_type == "customer", RiskScore.subject_id == str(customer_id)
            ),
        ),
    }


def _identifiers(customer: Customer) -> list[str]:
    values = [customer.name, customer.email, customer.phone or "", customer.external_ref or ""]
    values += [part for part in customer.name.split() if len(part) > 2]
    return [value for value in values if value]


def _tombstone(customer: Customer) -> None:
    customer.name = ERASED_NAME
    customer.email = f"erased-{customer.id}@erased.invalid"
    customer.phone = None
    customer.external_ref = None
    customer.status = "erased"
    customer.last_activity_at = None
    customer.payment_failures_90d = 0
    customer.signup_date = date(customer.signup_date.year, customer.signup_date.month, 1)
    # Nobody may be contacted once erased: a consent kept here would let an offer or a rule reach them.
    customer.marketing_consent = False
    customer.contact_channels = []
    customer.max_offers_per_month = None


async def erase_transcripts(session: AsyncSession, conversation_ids: Sequence[str], marker: str) -> int:
    """Replace the text of every message of these conversations; returns how many messages changed."""
    if not conversation_ids:
        return 0
    result = await session.execute(
        update(Message)
        .where(Message.conversation_id.in_(conversation_ids))
        # SQL NULL, not JSON 'null'
        .values(text=marker, text_redacted=marker, entities=null(), embedding=None)
    )
    await lifecycle.mark_erased(session, conversation_ids)
    return int(result.rowcount or 0)


async def scrub_audit(session: AsyncSession, query: Select[Any], identifiers: Iterable[str] = ()) -> int:
    """Replace free text and known identifiers in the before/after of the audit events `query` selects."""
    known = [value.lower() for value in identifiers]
    changed = 0
    for event in (await session.execute(query)).scalars():
        before, after = _scrub(event.before, known), _scrub(event.after, known)
        if before != event.before or after != event.after:
            event.before, event.after = before, after
            changed += 1
    return changed


def _scrub(value: Any, known: list[str], key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, known, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, known, key) for v in value]
    if isinstance(value, str) and (key in AUDIT_FREE_TEXT_KEYS or any(k in value.lower() for k in known)):
        return ERASED_TEXT
    return value


# ------------------------------------------------------------------------------------- redacted copies


@dataclass(frozen=True)
class Unredacted:
    id: int
    text: str
    customer_name: str | None
    # The bot's replies are its templates: the redactor may keep what it found in them for the next round.
    bot_reply: bool = False


async def staff_names(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(Agent.name))).scalars())


async def redact_rows(
    session: AsyncSession, rows: Sequence[Unredacted], settings: Settings
) -> dict[int, str]:
    """Redact these messages (in the redactor's child process: spaCy is CPU work that holds the GIL) and
    store each copy unless the text changed meanwhile (an erasure or purge got there first). Returns
    {message id: redacted text}."""
    if not rows:
        return {}
    staff = await staff_names(session)
    known = [[*staff, *([row.customer_name] if row.customer_name else [])] for row in rows]
    texts = [row.text for row in rows]
    bot_replies = [row.bot_reply for row in rows]
    redacted = await redactor.redact_many(texts, settings.pii_person_names, known, remember=bot_replies)
    table = Message.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.text == bindparam("original"))
        .where(table.c.text_redacted.is_(None))
        .values(text_redacted=bindparam("copy"))
    )
    params = [{"row_id": r.id, "original": r.text, "copy": c} for r, c in zip(rows, redacted, strict=True)]
    await session.execute(statement, params)
    await session.commit()
    return {row.id: copy for row, copy in zip(rows, redacted, strict=True)}


def _unredacted_query() -> Select[Any]:
    return (
        select(Message.id, Message.text, Customer.name, Message.sender == "bot")
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(Customer, Customer.id == Conversation.customer_id)
        .where(Message.text_redacted.is_(None))
    )


async def redact_pending(session: AsyncSession, settings: Settings, batch_size: int = 200) -> int:
    """One batch of the backlog (new messages, or all of them after an upgrade); returns how many."""
    query = _unredacted_query().order_by(Message.id).limit(batch_size)
    rows = [Unredacted(*row) for row in (await session.execute(query)).all()]
    return len(await redact_rows(session, rows, settings))


async def redacted_transcripts(
    session: AsyncSession,
    settings: Settings,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    after: str | None,
) -> list[dict[str, Any]]:
    """Conversations (transcripts not erased), oldest first by id, with redacted message text only."""
    query = select(Conversation).where(Conversation.transcript_erased_at.is_(None))
    if since is not None:
        query = query.where(Conversation.started_at >= since)
    if until is not None:
        query = query.where(Conversation.started_at < until)
    if after is not None:
        query = query.where(Conversation.id > after)
    conversations = list((await session.execute(query.order_by(Conversation.id).limit(limit))).scalars())
    ids = [c.id for c in conversations]
    pending = _unredacted_query().where(Message.conversation_id.in_(ids))
    filled = await redact_rows(
        session, [Unredacted(*row) for row in (await session.execute(pending)).all()], settings
    )
    messages = await _messages_by_conversation(session, ids)
    return [
        {
            "conversation_id": c.id,
            "channel": c.channel,
            "started_at": c.started_at,
            "messages": [_training_message(m, filled) for m in messages.get(c.id, [])],
        }
        for c in conversations
    ]


def _training_message(message: Message, filled: dict[int, str]) -> dict[str, Any]:
    # Entities are left out: their values and offsets belong to the original text.
    return {
        "id": message.id,
        "sender": message.sender,
        # The stored copy wins: if the text changed while this page was being redacted, it is the newer one.
        "text": message.text_redacted if message.text_redacted is not None else filled.get(message.id, ""),
        "intent": message.intent,
        "intent_confidence": message.intent_confidence,
        "sentiment_label": message.sentiment_label,
        "sentiment_score": message.sentiment_score,
        "created_at": message.created_at,
    }
