"""Suggested replies, similar past cases, and what became of each suggestion (the decision log).

Ranking: knowledge passages and past agent replies are put on one scale, the cosine similarity of MiniLM
vectors (a passage: the question against its best chunk, `dense_score` of the knowledge search; a past
reply: the question against the customer message that reply answered). A passage the search found by BM25
alone has no cosine, so its calibrated confidence stands in.

Decision rows (kind `suggestion`) hold identifiers and numbers, never text (backend/decisions/service.py):
one `shown` row per list an agent was shown, then one row when the agent replies: `used` (sent as
suggested), `edited` (the sent message differs from the suggestion inserted), or `ignored` (nothing shown
was inserted).
"""

from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any, Literal

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.assist.index import AssistIndex, PastCase, PastReply
from backend.cases.models import Case
from backend.conversations.models import Message
from backend.decisions import service as decisions
from backend.decisions.models import Decision
from backend.kb.indexing import KnowledgeRuntime
from backend.kb.views import search_published

VERSION = "assist-v1 (MiniLM cosine, KB + past replies)"
# MiniLM cosine between shop questions: paraphrases score 0.55 to 0.95 ("charged twice for one order" and
# "double charge on my invoice": 0.55), different questions of the same shop 0.1 to 0.35 ("gift cards"
# against "charged twice": 0.32). Below 0.4 a past question is about something else.
MIN_REPLY_SIMILARITY = 0.4
MIN_CASE_SIMILARITY = 0.4


@dataclass
class Suggestion:
    id: str  # kb:<slug> or reply:<message id>
    kind: Literal["kb", "reply"]
    text: str
    score: float
    source: dict[str, Any] = field(default_factory=dict)


@dataclass
class SimilarCase:
    case_id: int
    conversation_id: str
    same_customer: bool
    summary: str
    disposition: str | None
    skill: str
    resolved_at: datetime | None
    similarity: float | None


async def last_question(session: AsyncSession, case: Case) -> Message | None:
    query = (
        select(Message)
        .where(Message.conversation_id == case.conversation_id, Message.sender == "customer")
        .order_by(Message.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def suggestions(
    session: AsyncSession, kb: KnowledgeRuntime, index: AssistIndex, case: Case, question: str, k: int
) -> list[Suggestion]:
    found = [
        *await _kb_suggestions(session, kb, question, k),
        *await _reply_suggestions(index, case, question, k),
    ]
    found.sort(key=lambda s: s.score, reverse=True)
    return found[:k]


async def _kb_suggestions(
    session: AsyncSession, kb: KnowledgeRuntime, question: str, k: int
) -> list[Suggestion]:
    try:
        result = await search_published(question, k, session, kb)
    except HTTPException:  # the knowledge index is not open (yet): past replies still help
        return []
    return [
        Suggestion(
            f"kb:{hit.slug}",
            "kb",
            hit.snippet,
            hit.dense_score if hit.dense_score is not None else hit.confidence,
            {"article": hit.title, "url": hit.url, "confidence": hit.confidence},
        )
        for hit in result.results
    ]


async def _reply_suggestions(index: AssistIndex, case: Case, question: str, k: int) -> list[Suggestion]:
    await index.sync()
    query = await index.encode([question])
    found, seen = [], set()
    for score, reply in index.replies.search(query, k * 3):
        reply: PastReply
        if (
            reply.conversation_id == case.conversation_id
            or score < MIN_REPLY_SIMILARITY
            or reply.text in seen
        ):
            continue
        seen.add(reply.text)
        source = {
            "conversation_id": reply.conversation_id,
            "case_id": reply.case_id,
            "date": reply.at.isoformat(),
        }
        found.append(Suggestion(f"reply:{reply.message_id}", "reply", reply.text, score, source))
    return found[:k]


async def similar_cases(index: AssistIndex, case: Case, question: str, k: int) -> list[SimilarCase]:
    """This customer's resolved cases (most similar first), then other customers' most similar ones."""
    await index.sync()
    query = await index.encode([question])
    scored = {r.case_id: (s, r) for s, r in index.cases.search(query, max(k * 4, 20))}
    own = [r for r in index.cases.records.values() if case.customer_id and r.customer_id == case.customer_id]
    mine = sorted(
        (_similar(r, scored.get(r.case_id, (None,))[0], True) for r in own if r.case_id != case.id),
        key=lambda c: -(c.similarity or 0.0),
    )
    others = [
        _similar(r, s, False)
        for s, r in scored.values()
        if r.case_id != case.id and r.customer_id != case.customer_id and s >= MIN_CASE_SIMILARITY
    ]
    others.sort(key=lambda c: -(c.similarity or 0.0))
    return [*mine[:k], *others[:k]]


def _similar(record: PastCase, similarity: float | None, same: bool) -> SimilarCase:
    return SimilarCase(
        record.case_id,
        record.conversation_id,
        same,
        record.summary,
        record.disposition,
        record.skill,
        record.resolved_at,
        similarity,
    )


# ----- the decision log -----


def record_shown(
    session: AsyncSession, case: Case, agent_id: int, shown: list[Suggestion], asked: int
) -> Decision:
    return decisions.record(
        session,
        "suggestion",
        action="shown",
        version=VERSION,
        inputs={
            "agent_id": agent_id,
            "suggestions": [{"id": s.id, "kind": s.kind, "rank": i + 1} for i, s in enumerate(shown)],
        },
        scores={s.id: round(s.score, 4) for s in shown},
        conversation_id=case.conversation_id,
        case_id=case.id,
        customer_id=case.customer_id,
        message_id=asked,
    )


class OutcomeRefused(ValueError):
    """The outcome does not fit the suggestions shown or the message sent (the message says how)."""


async def record_outcome(
    session: AsyncSession,
    case: Case,
    shown: Decision,
    sent: Message,
    used_id: str | None,
    suggestion_text: str | None,
) -> Decision:
    """used / edited / ignored, against the `shown` row; the sent message is read from the database."""
    if shown.kind != "suggestion" or shown.action != "shown" or shown.case_id != case.id:
        raise OutcomeRefused(f"decision {shown.id} is not a list of suggestions shown for case {case.id}")
    if sent.conversation_id != case.conversation_id or sent.sender != "agent":
        raise OutcomeRefused(f"message {sent.id} is not an agent reply in this case's conversation")
    listed = {item["id"]: item for item in shown.inputs.get("suggestions", [])}
    inputs: dict[str, Any] = {"shown_decision_id": shown.id, "agent_id": sent.agent_id}
    similarity = None
    if used_id is None:
        action = "ignored"
    elif used_id not in listed or suggestion_text is None:
        raise OutcomeRefused(f"{used_id!r} was not among the suggestions shown, or its text is missing")
    else:
        similarity = SequenceMatcher(None, _norm(suggestion_text), _norm(sent.text)).ratio()
        action = "used" if _norm(suggestion_text) == _norm(sent.text) else "edited"
        inputs |= {"suggestion_id": used_id, "kind": listed[used_id]["kind"], "rank": listed[used_id]["rank"]}
    return decisions.record(
        session,
        "suggestion",
        action=action,
        version=VERSION,
        inputs=inputs,
        scores={"sent_vs_suggestion": round(similarity, 4)} if similarity is not None else {},
        score=similarity,
        conversation_id=case.conversation_id,
        case_id=case.id,
        customer_id=case.customer_id,
        message_id=sent.id,
    )


def _norm(text: str) -> str:
    return " ".join(text.split())
