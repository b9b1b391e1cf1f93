"""The routing loop: re-queues stale offers, flags SLA breaches, assigns waiting cases, then tells agents.

Runs every `routing_interval_s`, and at once when poked (a hand-off, an agent coming online, a case closed).
With several backend workers each runs its own loop; assignment.py makes that safe on PostgreSQL.
"""

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.analytics import publisher
from backend.analytics.events import Event, Kind
from backend.cases import assignment, lifecycle
from backend.cases.schemas import CaseOut
from backend.config import Settings
from backend.conversations.notifier import SUPERVISORS, Notifier, agent_topic
from backend.database import utcnow

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], notifier: Notifier, settings: Settings
    ) -> None:
        self._sessions = sessions
        self._notifier = notifier
        self._settings = settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="case-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.routing_interval_s)
            self._wake.clear()
            try:
                await self.tick()
            except Exception:  # the loop must survive a failed round (e.g. a database restart)
                log.exception("routing round failed; retrying next round")

    async def tick(self, now: datetime | None = None) -> None:
        now = now or utcnow()
        async with self._sessions() as session:
            timeout = timedelta(seconds=self._settings.accept_timeout_s)
            for item in await lifecycle.requeue_unaccepted(session, now, timeout):
                if item.agent_id is not None:
                    event = {"type": "case_removed", "case_id": item.case_id, "reason": item.reason}
                    self._notifier.publish(agent_topic(item.agent_id), event)
            for case in await lifecycle.flag_sla_breaches(session, now):
                event = {"type": "sla_breach", "case": CaseOut.model_validate(case).model_dump(mode="json")}
                self._notifier.publish(SUPERVISORS, event)
            assigned = await assignment.assign_waiting(session, now, self._settings.priority_weights)
            publisher.publish(*(Event(Kind.CASE_ASSIGNED, now, case.conversation_id) for case in assigned))
            for case in assigned:
                event = {
                    "type": "case_assigned",
                    "case": CaseOut.model_validate(case).model_dump(mode="json"),
                }
                self._notifier.publish(agent_topic(case.assigned_agent_id or 0), event)
