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
from backend.kb.models import Article, ArticleVersion
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
    """For each cluster made into an article: the questions the bot answered with it since its publication
    (`gap_articles` says how they are counted)."""
    slugs = {c.article_slug for c in clusters if c.article_slug}
    if not slugs:
        return {}
    answered = {a.slug: a.answered for a in await gap_articles(session) if a.slug in slugs}
    return {c.id: answered[c.article_slug] for c in clusters if c.article_slug in answered}


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


# ----- what each new article answered -----


@dataclass(frozen=True)
class GapArticle:
    """An article made from a knowledge-gap cluster, and the customer questions the bot answered with it."""

    slug: str
    title: str
    status: str
    cluster_id: int
    cluster_size: int
    published_at: datetime | None  # its first published version; None: still a draft
    answered: int  # bot answers in a conversation, since published_at, taken from this article
    conversations: int
    last_answered_at: datetime | None


async def gap_articles(session: AsyncSession, slug: str | None = None) -> list[GapArticle]:
    """Every article a cluster was made into (of any run), newest cluster first, with its answers.

    An answer is a `kb_answer` decision with action `answer` whose top hit is the article (the bot's reply is
    that hit's passage, actions/knowledge.py), logged in a customer conversation, at or after the article's
    first publication. Not the bot messages' citations: a "not sure" reply cites the closest article too
    (flow kb-not-sure, variant suggest_closest), and only the decision row says which kind a reply was.
    """
    query = (
        select(GapCluster, Article)
        .join(Article, Article.slug == GapCluster.article_slug)
        .order_by(GapCluster.id.desc())
    )
    if slug is not None:
        query = query.where(GapCluster.article_slug == slug)
    pairs = {article.slug: (cluster, article) for cluster, article in (await session.execute(query)).all()}
    if not pairs:
        return []
    published = await _first_published(session, [a.id for _, a in pairs.values()])
    answers = await _answers_by_top_article(session, [t for t in published.values() if t is not None])
    found = []
    for article_slug, (cluster, article) in pairs.items():
        since = published.get(article.id)
        mine = [a for a in answers.get(article_slug, []) if since is not None and a[0] >= since]
        found.append(
            GapArticle(
                slug=article_slug,
                title=article.title,
                status=article.status,
                cluster_id=cluster.id,
                cluster_size=cluster.size,
                published_at=since,
                answered=len(mine),
                conversations=len({conversation for _, conversation in mine}),
                last_answered_at=max((at for at, _ in mine), default=None),
            )
        )
    return found


async def _first_published(session: AsyncSession, article_ids: Sequence[int]) -> dict[int, datetime | None]:
    """When each article was first published: its oldest version saved with status published (the articles
    table keeps no publication time of its own; a version row is written on every change, backend/kb)."""
    query = (
        select(ArticleVersion.article_id, func.min(ArticleVersion.created_at))
        .where(ArticleVersion.article_id.in_(list(article_ids)), ArticleVersion.status == "published")
        .group_by(ArticleVersion.article_id)
    )
    first: dict[int, datetime] = {i: at for i, at in (await session.execute(query)).all()}
    return {i: first.get(i) for i in article_ids}


async def _answers_by_top_article(
    session: AsyncSession, since: Sequence[datetime]
) -> dict[str, list[tuple[datetime, str]]]:
    """(time, conversation) of the bot's answers in conversations since the earliest of `since`, by top
    article. Read in Python: the hit list is JSON, queried alike on SQLite and PostgreSQL only this way."""
    if not since:
        return {}
    query = select(Decision.inputs, Decision.created_at, Decision.conversation_id).where(
        Decision.kind == "kb_answer",
        Decision.action == "answer",
        Decision.conversation_id.is_not(None),
        Decision.created_at >= min(since),
    )
    found: dict[str, list[tuple[datetime, str]]] = {}
    for inputs, at, conversation in (await session.execute(query)).all():
        top = ((inputs or {}).get("hits") or [{}])[0].get("slug")
        if top:
            found.setdefault(top, []).append((at, conversation))
    return found
