"""Knowledge gaps: the questions the bot could not answer, clustered, each cluster a draft article away.

Which questions (within `assist_gap_window_days`):

- the knowledge search said "not sure" (a `kb_answer` decision with action `not_sure`): the customer message
  of that conversation just before the decision;
- the bot fell back (intent `nlu_fallback` or `out_of_scope`);
- the conversation was handed over (a `handoff` decision with a case): the last customer message of that
  turn that says what the customer needs (not "a person please", not a greeting).

Their PII-redacted texts are embedded with MiniLM (the knowledge index's embedder) and clustered by
scikit-learn's AgglomerativeClustering, average linkage on cosine distance, cut at
`assist_gap_distance_threshold` (no number of clusters to guess). The threshold, 0.62, was chosen on
hand-written sets of paraphrases of one question against other shop questions: at 0.60 the least alike
paraphrase ("Do you take bitcoin or ethereum?" among "Can I pay with Bitcoin?" ones) split off, at 0.65 an
unrelated question ("Where is my order?") joined a cluster of questions about shipping to Iceland; 0.62
keeps each question's paraphrases together and the others apart. Single linkage chains unrelated questions
together, complete linkage splits paraphrases earlier: average sits between them.

Each cluster keeps its size, its examples (nearest the centre first) and the agent replies of the cases of
those conversations: what a draft article is prefilled from. A run replaces nothing: clusters are stored per
run, and the admin page shows the latest.
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.assist.models import GapCluster
from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.core.config import Settings
from backend.core.database import utcnow
from backend.customers.models import Customer
from backend.decisions.models import Decision
from backend.privacy.service import Unredacted, redact_rows
from knowledge.embedder import get_embedder

log = logging.getLogger(__name__)
FALLBACK_INTENTS = ("nlu_fallback", "out_of_scope")
# What a customer says around a hand-off that is no question: asking for a person, greeting, agreeing.
NOT_A_QUESTION = frozenset(
    {
        "request_human",
        "greet",
        "goodbye",
        "thanks",
        "affirm",
        "deny",
        "chitchat",
        "compliment",
        "bot_challenge",
    }
)
MAX_EXAMPLES = 10
MAX_REPLIES = 5


@dataclass(frozen=True)
class Question:
    message_id: int
    conversation_id: str
    why: str  # not_sure, fallback, handed_over


async def unanswered(session: AsyncSession, since: datetime) -> list[Question]:
    found: dict[int, Question] = {}
    for question in [
        *await _not_sure(session, since),
        *await _fallbacks(session, since),
        *await _handed_over(session, since),
    ]:
        found.setdefault(question.message_id, question)
    return list(found.values())


async def _not_sure(session: AsyncSession, since: datetime) -> list[Question]:
    query = select(Decision.conversation_id, Decision.created_at).where(
        Decision.kind == "kb_answer",
        Decision.action == "not_sure",
        Decision.conversation_id.is_not(None),
        Decision.created_at >= since,
    )
    found = []
    for conversation_id, at in (await session.execute(query)).all():
        asked = await _last_customer_message(session, conversation_id, at, None)
        if asked is not None:
            found.append(Question(asked, conversation_id, "not_sure"))
    return found


async def _fallbacks(session: AsyncSession, since: datetime) -> list[Question]:
    query = select(Message.id, Message.conversation_id).where(
        Message.sender == "customer", Message.intent.in_(FALLBACK_INTENTS), Message.created_at >= since
    )
    return [Question(i, c, "fallback") for i, c in (await session.execute(query)).all()]


async def _handed_over(session: AsyncSession, since: datetime) -> list[Question]:
    query = select(Decision.conversation_id, Decision.created_at, Decision.message_id).where(
        Decision.kind == "handoff",
        Decision.case_id.is_not(None),
        Decision.conversation_id.is_not(None),
        Decision.created_at >= since,
    )
    found = []
    for conversation_id, at, message_id in (await session.execute(query)).all():
        asked = await _last_customer_message(session, conversation_id, at, message_id)
        if asked is not None:
            found.append(Question(asked, conversation_id, "handed_over"))
    return found


async def _last_customer_message(
    session: AsyncSession, conversation_id: str, at: datetime, up_to_id: int | None
) -> int | None:
    query = (
        select(Message.id)
        .where(Message.conversation_id == conversation_id, Message.sender == "customer")
        .where(Message.created_at <= at, Message.text != "")
        .where(Message.intent.is_(None) | Message.intent.not_in(sorted(NOT_A_QUESTION)))
        .order_by(Message.id.desc())
        .limit(1)
    )
    if up_to_id is not None:
        query = query.where(Message.id <= up_to_id)
    return (await session.execute(query)).scalar()


def cluster(vectors: np.ndarray, threshold: float) -> np.ndarray:
    """A label per vector (unit vectors, cosine distance, average linkage, cut at `threshold`)."""
    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=int)
    model = AgglomerativeClustering(
        n_clusters=None, distance_threshold=threshold, metric="cosine", linkage="average"
    )
    return model.fit_predict(vectors)


async def redacted_texts(session: AsyncSession, ids: Sequence[int], settings: Settings) -> dict[int, str]:
    """The privacy worker's redacted copies, made now for messages it has not reached yet."""
    query = (
        select(Message.id, Message.text, Message.text_redacted, Customer.name)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(Customer, Customer.id == Conversation.customer_id)
        .where(Message.id.in_(list(ids)), Conversation.transcript_erased_at.is_(None))
    )
    rows = (await session.execute(query)).all()
    texts = {r.id: r.text_redacted for r in rows if r.text_redacted is not None}
    pending = [Unredacted(r.id, r.text, r.name) for r in rows if r.text_redacted is None and r.text]
    return texts | await redact_rows(session, pending, settings)


async def resolving_replies(session: AsyncSession, conversation_ids: Sequence[str]) -> list[Message]:
    """Agent messages of resolved cases of these conversations, newest first."""
    query = (
        select(Message)
        .join(Case, Case.conversation_id == Message.conversation_id)
        .where(Message.conversation_id.in_(list(conversation_ids)), Message.sender == "agent")
        .where(Case.status == "resolved", Message.created_at >= Case.created_at)
        .where(Message.created_at <= Case.resolved_at)
        .order_by(Message.id.desc())
    )
    return list(dict.fromkeys((await session.execute(query)).scalars()))


async def run(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> list[GapCluster]:
    """One run of the job: collect, embed, cluster, store the clusters of at least `assist_gap_min_size`."""
    now = utcnow()
    async with sessions() as session:
        questions = await unanswered(session, now - timedelta(days=settings.assist_gap_window_days))
        texts = await redacted_texts(session, [q.message_id for q in questions], settings)
        questions = [q for q in questions if texts.get(q.message_id, "").strip()]
        if not questions:
            return []
        embedder = get_embedder(settings.kb_encoder_dir)
        vectors = await asyncio.to_thread(embedder.encode, [texts[q.message_id] for q in questions])
        labels = cluster(vectors, settings.assist_gap_distance_threshold)
        made = []
        for label in sorted(set(labels.tolist())):
            members = [i for i, x in enumerate(labels) if x == label]
            if len(members) < settings.assist_gap_min_size:
                continue
            made.append(
                await _cluster_row(
                    session, settings, now, [questions[i] for i in members], vectors[members], texts
                )
            )
        made.sort(key=lambda c: -c.size)
        session.add_all(made)
        await session.commit()
        log.info("knowledge gaps: %d questions, %d clusters", len(questions), len(made))
        return made


async def _cluster_row(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    members: list[Question],
    vectors: np.ndarray,
    texts: dict[int, str],
) -> GapCluster:
    centre = vectors.mean(axis=0)
    order = np.argsort(-(vectors @ centre))
    examples = [
        {"message_id": members[i].message_id, "conversation_id": members[i].conversation_id,
         "text": texts[members[i].message_id], "why": members[i].why}
        for i in order[:MAX_EXAMPLES]
    ]  # fmt: skip
    agent_messages = (await resolving_replies(session, [m.conversation_id for m in members]))[
        : MAX_REPLIES * 2
    ]
    reply_texts = await redacted_texts(session, [m.id for m in agent_messages], settings)
    replies, seen = [], set()
    for message in agent_messages:
        text = reply_texts.get(message.id, "").strip()
        if text and text not in seen and len(replies) < MAX_REPLIES:
            seen.add(text)
            replies.append(
                {"message_id": message.id, "conversation_id": message.conversation_id, "text": text}
            )
    return GapCluster(
        run_at=now, size=len(members), label=examples[0]["text"], examples=examples, replies=replies
    )


async def latest(session: AsyncSession) -> list[GapCluster]:
    newest = (await session.execute(select(func.max(GapCluster.run_at)))).scalar()
    if newest is None:
        return []
    query = (
        select(GapCluster).where(GapCluster.run_at == newest).order_by(GapCluster.size.desc(), GapCluster.id)
    )
    return list((await session.execute(query)).scalars())


async def answered_since(session: AsyncSession, clusters: Sequence[GapCluster]) -> dict[int, int]:
    """For each cluster whose article exists: the bot's knowledge answers since the cluster's run whose top
    article was that one (the kb_answer decision's first hit), i.e. questions the new article then answered.
    Read in Python: the hit list is JSON, queried alike on SQLite and PostgreSQL only this way; a week or
    two of answers is a few thousand small rows."""
    slugs = {c.id: c.article_slug for c in clusters if c.article_slug}
    if not slugs:
        return {}
    since = min(c.run_at for c in clusters if c.article_slug)
    query = select(Decision.inputs).where(
        Decision.kind == "kb_answer", Decision.action == "answer", Decision.created_at >= since
    )
    tops = [(i.get("hits") or [{}])[0].get("slug") for i in (await session.execute(query)).scalars()]
    return {cluster_id: sum(1 for top in tops if top == slug) for cluster_id, slug in slugs.items()}


def draft_body(row: GapCluster) -> str:
    """Markdown prefilled from the cluster: the question, what customers asked, what agents answered. The
    admin edits it before publishing; nothing here is invented."""
    asked = "\n".join(f"- {e['text']}" for e in row.examples[:5])
    answered = (
        "\n\n".join(r["text"] for r in row.replies)
        or "(No agent reply resolved these yet: write the answer.)"
    )
    return f"## The answer\n\n{answered}\n\n## Customers asked\n\n{asked}\n"


def draft_title(row: GapCluster) -> str:
    title = " ".join(row.label.split())
    return (title[:117] + "…") if len(title) > 120 else title
