"""The routing loop: re-queues stale offers, flags SLA breaches, assigns waiting cases, then tells agents.

Runs every `routing_interval_s`, and at once when poked (a hand-off, an agent coming online, a case closed).
With several backend workers each runs its own loop; assignment.py makes that safe on PostgreSQL.
"""

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.analytics import publisher
from backend.analytics.events import Event, Kind
from backend.cases import assignment, lifecycle
from backend.cases.schemas import CaseOut
from backend.config import Settings
from backend.conversations.notifier import SUPERVISORS, Notifier, agent_topic
from backend.core.background import Periodic
from backend.database import utcnow


class Dispatcher:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], notifier: Notifier, settings: Settings
    ) -> None:
        self._sessions = sessions
        self._notifier = notifier
        self._settings = settings
        self._wake = asyncio.Event()
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
