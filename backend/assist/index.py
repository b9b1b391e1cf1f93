"""What agents did before, searchable by meaning: past agent replies and past resolved cases.

Two small FAISS sets over MiniLM vectors (the knowledge index's embedder instance, `get_embedder`, so the
model is loaded once per process):

- replies: every agent reply of a resolved case, keyed by its message id, embedded by the customer message
  it answered (the current customer's question is compared with past questions, and the reply that resolved
  the past one is the suggestion);
- cases: every resolved case, keyed by case id, embedded by what the customer wrote before the hand-off.

Only PII-redacted text goes in: the privacy worker's copy (`text_redacted`), or, for a message it has not
reached yet, a copy made on the spot through the same redactor (backend/privacy/service.py `redact_rows`).
Erased transcripts leave the sets at the next sync.

Kept in memory and rebuilt from the database at start (the texts are stored; only the vectors are
recomputed: a few seconds per thousand replies on one core). `sync()` adds cases resolved since the last
one; it runs in a `Periodic` loop and before each suggestions request, so a case resolved a moment ago is
suggested at once.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.core.background import Periodic
from backend.core.config import Settings
from backend.customers.models import Customer
from backend.privacy.service import Unredacted, redact_rows
from knowledge.embedder import get_embedder
from knowledge.vectors import VectorIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PastReply:
    message_id: int
    conversation_id: str
    case_id: int
    text: str  # redacted
    question: str  # redacted
    at: datetime


@dataclass(frozen=True)
class PastCase:
    case_id: int
    conversation_id: str
    customer_id: int | None
    summary: str  # redacted customer messages before the hand-off
    disposition: str | None
    skill: str
    resolved_at: datetime | None


class VectorSet:
    """Vectors with stable int ids and their records."""

    def __init__(self, dim: int) -> None:
        self.vectors = VectorIndex.empty(dim)
        self.records: dict[int, Any] = {}

    def add(self, ids: list[int], vectors: np.ndarray, records: list[Any]) -> None:
        fresh = [i for i, key in enumerate(ids) if key not in self.records]
        if not fresh:
            return
        self.vectors.add(vectors[fresh], np.asarray([ids[i] for i in fresh], dtype=np.int64))
        self.records.update({ids[i]: records[i] for i in fresh})

    def remove(self, ids: list[int]) -> None:
        gone = [i for i in ids if i in self.records]
        self.vectors.remove(gone)
        for i in gone:
            del self.records[i]

    def search(self, query: np.ndarray, k: int) -> list[tuple[float, Any]]:
        if not self.records:
            return []
        scores, ids = self.vectors.search(query, k)
        return [(float(s), self.records[int(i)]) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]


class AssistIndex:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self.embedder = get_embedder(settings.kb_encoder_dir)
        self.replies = VectorSet(self.embedder.dim)
        self.cases = VectorSet(self.embedder.dim)
        self.watermark: datetime | None = None  # resolved_at of the newest case taken in
        self._lock = asyncio.Lock()
        self.loop = Periodic("assist-index-sync", self.sync, settings.assist_reply_sync_interval_s)

    async def encode(self, texts: list[str]) -> np.ndarray:
        return await asyncio.to_thread(self.embedder.encode, texts)

    async def sync(self) -> int:
        """Take in the cases resolved since the last sync (their agent replies too); drop erased ones.
        Returns how many cases were added."""
        async with self._lock:
            async with self.sessions() as session:
                await self._drop_erased(session)
                cases = await self._newly_resolved(session)
                if not cases:
                    return 0
                messages = await self._messages(session, [c.conversation_id for c in cases])
                texts = await self._redacted(session, [m for ms in messages.values() for m in ms])
            await self._add(cases, messages, texts)
            self.watermark = max(c.resolved_at for c in cases if c.resolved_at is not None)
            return len(cases)

    async def _newly_resolved(self, session: AsyncSession) -> list[Case]:
        query = (
            select(Case)
            .join(Conversation, Conversation.id == Case.conversation_id)
            .where(Case.status == "resolved", Case.resolved_at.is_not(None))
            .where(Conversation.transcript_erased_at.is_(None))
            .order_by(Case.resolved_at)
        )
        if self.watermark is not None:  # >= and a skip of known ids: two cases may resolve in one tick
            query = query.where(Case.resolved_at >= self.watermark)
        return [c for c in (await session.execute(query)).scalars() if c.id not in self.cases.records]

    async def _messages(self, session: AsyncSession, conversation_ids: list[str]) -> dict[str, list[Message]]:
        query = (
            select(Message)
            .where(Message.conversation_id.in_(conversation_ids), Message.sender.in_(("customer", "agent")))
            .order_by(Message.id)
        )
        found: dict[str, list[Message]] = {}
        for message in (await session.execute(query)).scalars():
            found.setdefault(message.conversation_id, []).append(message)
        return found

    async def _redacted(self, session: AsyncSession, messages: list[Message]) -> dict[int, str]:
        """Each message's redacted text: the stored copy, else one made now by the privacy redactor."""
        texts = {m.id: m.text_redacted for m in messages if m.text_redacted is not None}
        pending = [m for m in messages if m.text_redacted is None and m.text]
        if pending:
            names = await _customer_names(session, {m.conversation_id for m in pending})
            rows = [Unredacted(m.id, m.text, names.get(m.conversation_id)) for m in pending]
            texts |= await redact_rows(session, rows, self.settings)
        return texts

    async def _add(
        self, cases: list[Case], messages: dict[str, list[Message]], texts: dict[int, str]
    ) -> None:
        replies, records = [], []
        for case in cases:
            during = [m for m in messages.get(case.conversation_id, []) if _within(m, case)]
            before = [m for m in messages.get(case.conversation_id, []) if m.created_at <= case.created_at]
            summary = " ".join(texts.get(m.id, "") for m in before if m.sender == "customer")[-1000:]
            records.append(
                PastCase(
                    case.id,
                    case.conversation_id,
                    case.customer_id,
                    summary.strip(),
                    case.disposition,
                    case.skill,
                    case.resolved_at,
                )
            )
            replies.extend(_replies_of(case, [*before, *during], texts))
        cases_with_text = [r for r in records if r.summary]
        if cases_with_text:
            vectors = await self.encode([r.summary for r in cases_with_text])
            self.cases.add([r.case_id for r in cases_with_text], vectors, cases_with_text)
        if replies:
            vectors = await self.encode([r.question or r.text for r in replies])
            self.replies.add([r.message_id for r in replies], vectors, replies)

    async def _drop_erased(self, session: AsyncSession) -> None:
        known = {r.conversation_id for r in self.cases.records.values()}
        if not known:
            return
        query = select(Conversation.id).where(
            Conversation.id.in_(known), Conversation.transcript_erased_at.is_not(None)
        )
        erased = set((await session.execute(query)).scalars())
        if erased:
            for found in (self.cases, self.replies):
                found.remove([i for i, r in found.records.items() if r.conversation_id in erased])


def _within(message: Message, case: Case) -> bool:
    return case.created_at <= message.created_at and (
        case.resolved_at is None or message.created_at <= case.resolved_at
    )


def _replies_of(case: Case, messages: list[Message], texts: dict[int, str]) -> list[PastReply]:
    """Each agent reply of the case with the customer message it answered (the last one before it)."""
    found, question = [], ""
    for m in messages:
        if m.sender == "customer":
            question = texts.get(m.id, question)
        elif m.sender == "agent" and _within(m, case) and texts.get(m.id):
            found.append(PastReply(m.id, case.conversation_id, case.id, texts[m.id], question, m.created_at))
    return found


async def _customer_names(session: AsyncSession, conversation_ids: set[str]) -> dict[str, str]:
    query = (
        select(Conversation.id, Customer.name)
        .join(Customer, Customer.id == Conversation.customer_id)
        .where(Conversation.id.in_(conversation_ids))
    )
    return {row.id: row.name for row in await session.execute(query)}
