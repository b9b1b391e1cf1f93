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

Kept on disk in the knowledge index's directory (backend/assist/store.py: FAISS files, records, a manifest
keyed by the encoder and a content hash). The first `sync()` of a process opens it: the saved sets are loaded
(unless another encoder made them, or they are damaged), compared record by record with what the database
holds now, and only the replies and cases that are new or whose redacted text changed are encoded; the gone
ones (an erased transcript, a reopened case) are dropped. A restart with nothing new encodes nothing. Later
`sync()`s add cases resolved since the last one; it runs in a `Periodic` loop and before each suggestions
request, so a case resolved a moment ago is suggested at once. The files are rewritten whenever the sets
change.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.assist import store
from backend.assist.records import PastCase, PastReply, VectorSet
from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.core.background import Periodic
from backend.core.config import Settings
from backend.customers.models import Customer
from backend.privacy.service import Unredacted, redact_rows
from knowledge.embedder import get_embedder

__all__ = ["AssistIndex", "PastCase", "PastReply", "VectorSet"]

log = logging.getLogger(__name__)
OPEN_BATCH = 1000  # conversations per query when the whole history is read at start


class AssistIndex:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: Settings, directory: Path | None = None
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.embedder = get_embedder(settings.kb_encoder_dir)
        self.directory = directory or store.directory_for(settings.kb_index_dir)
        self.replies = VectorSet(self.embedder.dim)
        self.cases = VectorSet(self.embedder.dim)
        self.watermark: datetime | None = None  # resolved_at of the newest case taken in
        self.opened: str | None = None  # how the first sync began: loaded, or why it rebuilt
        self.encoded = 0  # texts encoded by this process (what a restart should not redo)
        self._lock = asyncio.Lock()
        self.loop = Periodic("assist-index-sync", self.sync, settings.assist_reply_sync_interval_s)

    async def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += len(texts)
        return await asyncio.to_thread(self.embedder.encode, texts)

    async def sync(self) -> int:
        """Take in the cases resolved since the last sync (their agent replies too); drop erased ones.
        The first one opens the saved sets and brings them in step with the database. Returns how many
        cases were added (the first time: how many records were encoded or dropped)."""
        async with self._lock:
            if self.opened is None:
                return await self._open()
            async with self.sessions() as session:
                dropped = await self._drop_erased(session)
                cases = await self._newly_resolved(session)
                if cases:
                    messages = await self._messages(session, [c.conversation_id for c in cases])
                    texts = await self._redacted(session, [m for ms in messages.values() for m in ms])
            held = (len(self.cases.records), len(self.replies.records))
            if cases:
                await self._add(cases, messages, texts)
                self.watermark = max(c.resolved_at for c in cases if c.resolved_at is not None)
            if dropped or held != (len(self.cases.records), len(self.replies.records)):
                await self._save()
            return len(cases)

    async def _open(self) -> int:
        """Load the saved sets, then encode only what the database holds that they do not (or holds
        differently), drop what it no longer holds, and save if anything changed."""
        loaded, reason = await asyncio.to_thread(
            store.load, self.directory, self.embedder.name, self.embedder.dim
        )
        if loaded is not None:
            self.replies, self.cases = loaded.replies, loaded.cases
        async with self.sessions() as session:
            cases = await self._newly_resolved(session, everything=True)
            ids = [c.conversation_id for c in cases]
            messages: dict[str, list[Message]] = {}
            for at in range(0, len(ids), OPEN_BATCH):  # bound the IN list (database parameter limits)
                messages |= await self._messages(session, ids[at : at + OPEN_BATCH])
            texts = await self._redacted(session, [m for ms in messages.values() for m in ms])
        case_records, reply_records = _records(cases, messages, texts)
        changed = await self._reconcile(
            self.cases, {r.case_id: r for r in case_records if r.summary}, store.case_input
        )
        changed += await self._reconcile(
            self.replies, {r.message_id: r for r in reply_records}, store.reply_input
        )
        resolved = [c.resolved_at for c in cases if c.resolved_at is not None]
        self.watermark = max(resolved) if resolved else None
        self.opened = reason
        if changed or loaded is None:
            await self._save()
        log.info(
            "assist index: %s; %d records changed; %d replies, %d cases",
            reason, changed, len(self.replies.records), len(self.cases.records),
        )  # fmt: skip
        return changed

    async def _reconcile(
        self, found: VectorSet, wanted: dict[int, Any], text_of: Callable[[Any], str]
    ) -> int:
        """Make `found` hold exactly `wanted`, encoding only the records it lacks or holds differently."""
        gone = [key for key, record in found.records.items() if wanted.get(key) != record]
        found.remove(gone)
        fresh = [record for key, record in wanted.items() if key not in found.records]
        if fresh:
            vectors = await self.encode([text_of(r) for r in fresh])
            found.add([key for key in wanted if key not in found.records], vectors, fresh)
        return len(gone) + len(fresh)

    async def _save(self) -> None:
        try:
            await asyncio.to_thread(
                store.save, self.directory, self.embedder.name, self.replies, self.cases, self.watermark
            )
        except OSError:  # a full or read-only disk must not stop suggestions; the next start re-encodes
            log.exception("could not save the assist index to %s", self.directory)

    async def _newly_resolved(self, session: AsyncSession, everything: bool = False) -> list[Case]:
        """Resolved cases of unerased conversations: since the watermark and not yet taken in, or all."""
        query = (
            select(Case)
            .join(Conversation, Conversation.id == Case.conversation_id)
            .where(Case.status == "resolved", Case.resolved_at.is_not(None))
            .where(Conversation.transcript_erased_at.is_(None))
            .order_by(Case.resolved_at)
        )
        if everything:
            return list((await session.execute(query)).scalars())
        if self.watermark is not None:  # >= and a skip of known ids: two cases may resolve in one tick
            query = query.where(Case.resolved_at >= self.watermark)
        # A case without a summary has no record of its own: its replies say it was taken in.
        taken = set(self.cases.records) | {r.case_id for r in self.replies.records.values()}
        return [c for c in (await session.execute(query)).scalars() if c.id not in taken]

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
        records, replies = _records(cases, messages, texts)
        cases_with_text = [r for r in records if r.summary]
        if cases_with_text:
            vectors = await self.encode([store.case_input(r) for r in cases_with_text])
            self.cases.add([r.case_id for r in cases_with_text], vectors, cases_with_text)
        if replies:
            vectors = await self.encode([store.reply_input(r) for r in replies])
            self.replies.add([r.message_id for r in replies], vectors, replies)

    async def _drop_erased(self, session: AsyncSession) -> int:
        """Drop the records of erased transcripts (a case without a summary has replies only: both sets are
        looked at). Returns how many records went."""
        known = {r.conversation_id for found in (self.cases, self.replies) for r in found.records.values()}
        if not known:
            return 0
        query = select(Conversation.id).where(
            Conversation.id.in_(known), Conversation.transcript_erased_at.is_not(None)
        )
        erased = set((await session.execute(query)).scalars())
        dropped = 0
        if erased:
            for found in (self.cases, self.replies):
                gone = [i for i, r in found.records.items() if r.conversation_id in erased]
                found.remove(gone)
                dropped += len(gone)
        return dropped


def _records(
    cases: list[Case], messages: dict[str, list[Message]], texts: dict[int, str]
) -> tuple[list[PastCase], list[PastReply]]:
    """Each case's record (its summary may be empty) and its agent replies' records."""
    records: list[PastCase] = []
    replies: list[PastReply] = []
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
    return records, replies


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
