"""The privacy loop of every backend worker: redacted copies of new messages, owed Rasa tracker erasures,
and the retention purge.

Every `redaction_interval_s` it redacts the messages still without a copy (batches of 200 through one
spaCy pass, in a low-priority child process so the event loop keeps serving turns: privacy/redactor.py) and
retries owed tracker erasures; every `retention_purge_interval_s` it runs the purge. It is deliberately
not part of the customer's turn: the turn commits and answers without waiting, and nothing here can fail
it. A message is redacted within one interval of being stored; readers that need it sooner redact on the
spot (service.redacted_transcripts). A `Periodic` loop (backend/core/background.py), like the case
dispatcher's: a failed round is logged and the next one tries again. With several workers two may redact
the same batch; the guarded update stores one copy.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.background import Periodic
from backend.core.config import Settings
from backend.privacy import purge, service, tracker

log = logging.getLogger(__name__)

BATCH = 200
# spaCy takes ~6 ms a message on one core: at most 400 messages a round (~2.5 s of CPU every 10 s) leaves
# the cores to the turns most of the time even while a big backlog (an upgrade) is worked off.
MAX_BATCHES_PER_ROUND = 2


class PrivacyWorker:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._last_purge: float | None = None
        # A failed round (a database restart, a bad message) is logged and the next one tries again.
        self.loop = Periodic("privacy-worker", self.tick, settings.redaction_interval_s)

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    async def tick(self) -> None:
        async with self._sessions() as session:
            for _ in range(MAX_BATCHES_PER_ROUND):
                if await service.redact_pending(session, self._settings, BATCH) < BATCH:
                    break
            await tracker.settle(session, self._settings)
            if self._purge_due():
                result = await purge.purge_expired(session, self._settings)
                if result.conversations:
                    log.info(
                        "retention purge: %d conversations, %d messages",
                        result.conversations,
                        result.messages,
                    )

    def _purge_due(self) -> bool:
        now = time.monotonic()
        if (
            self._last_purge is not None
            and now - self._last_purge < self._settings.retention_purge_interval_s
        ):
            return False
        self._last_purge = now
        return True
