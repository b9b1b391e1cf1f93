"""The routing loop: re-queues stale offers and unanswered cases, flags SLA breaches, assigns waiting cases
(the lifecycle, backend/lifecycle/cases.py, makes each change and tells the agents), then tells each waiting
customer their place in the queue when it moved (backend/cases/queue.py).

Runs every `routing_interval_s`, and at once when poked (a hand-off, an agent coming online, a case closed).
With several backend workers each runs its own loop; assignment.py makes that safe on PostgreSQL.
"""

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.cases import assignment
from backend.cases.queue import QueueBroadcaster
from backend.cases.routing import PriorityWeights
from backend.conversations.notifier import Notifier
from backend.core.background import Periodic
from backend.core.config import Settings
from backend.core.database import utcnow
from backend.lifecycle import cases as lifecycle


class Dispatcher:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], notifier: Notifier, settings: Settings
    ) -> None:
        self._sessions = sessions
        self._notifier = notifier
        self._settings = settings
        self._wake = asyncio.Event()
        self._queue = QueueBroadcaster(notifier, settings)
        # A failed round (e.g. a database restart) is logged and the next one tries again.
        self.loop = Periodic("case-dispatcher", self.tick, settings.routing_interval_s, wake=self._wake)

    def poke(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    async def tick(self, now: datetime | None = None) -> None:
        now = now or utcnow()
        async with self._sessions() as session:
            timeout = timedelta(seconds=self._settings.accept_timeout_s)
            reply_s = self._settings.reply_timeout_s
            reply_timeout = timedelta(seconds=reply_s) if reply_s > 0 else None
            await lifecycle.requeue_unaccepted(session, now, timeout, self._notifier, reply_timeout)
            await lifecycle.flag_sla_breaches(session, now, self._notifier)
            assigned = await assignment.assign_waiting(
                session, now, PriorityWeights.from_settings(self._settings)
            )
            lifecycle.offered(assigned, now, self._notifier)
            await self._queue.publish(session, now)
