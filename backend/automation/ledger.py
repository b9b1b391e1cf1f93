"""What automation already did, read for one event's guardrails: from the firings table (live) or from
memory (a dry-run's replay, which must not write). Both count the same way, so they agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.automation.evaluator import AutomationEvent, Ledger, PlannedAction
from backend.automation.models import Firing

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Firings that count against the caps: the action ran (or is running). Blocked and failed ones did nothing.
COUNTED = ("pending", "done")


async def from_database(session: AsyncSession, event: AutomationEvent) -> Ledger:
    done = select(Firing.fingerprint).where(Firing.event_key == event.key)
    fingerprints = frozenset((await session.execute(done)).scalars())
    ran = 0
    if event.conversation_id is not None:
        query = select(func.count(Firing.id)).where(
            Firing.conversation_id == event.conversation_id,
            Firing.outcome.in_(COUNTED),
            Firing.at > event.at - HOUR,
            Firing.at <= event.at,
        )
        ran = int((await session.execute(query)).scalar_one())
    who = (
        Firing.customer_id == event.customer_id
        if event.customer_id is not None
        else Firing.conversation_id == event.conversation_id
    )
    contacts = select(func.count(Firing.id), func.max(Firing.at)).where(
        who, Firing.contact.is_(True), Firing.outcome.in_(COUNTED), Firing.at <= event.at
    )
    recent = contacts.where(Firing.at > event.at - DAY)
    count = int((await session.execute(recent)).one()[0])
    last = (await session.execute(contacts)).one()[1]
    return Ledger(ran, count, last, fingerprints)


@dataclass(frozen=True)
class _Entry:
    conversation_id: str | None
    who: str
    at: datetime
    contact: bool


def _who(event: AutomationEvent) -> str:
    if event.customer_id is not None:
        return f"customer:{event.customer_id}"
    return f"conversation:{event.conversation_id}"


class MemoryLedger:
    """The dry-run's ledger: what the replay has planned so far (run actions count, blocked ones do not)."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        self._done: dict[str, set[str]] = {}

    def for_event(self, event: AutomationEvent) -> Ledger:
        ran = sum(
            1
            for e in self._entries
            if event.conversation_id is not None
            and e.conversation_id == event.conversation_id
            and event.at - HOUR < e.at <= event.at
        )
        who = _who(event)
        contacts = [e.at for e in self._entries if e.contact and e.who == who and e.at <= event.at]
        recent = sum(1 for at in contacts if at > event.at - DAY)
        return Ledger(ran, recent, max(contacts, default=None), frozenset(self._done.get(event.key, ())))

    def record(self, planned: list[PlannedAction]) -> None:
        for item in planned:
            self._done.setdefault(item.event.key, set()).add(item.fingerprint)
            if item.outcome == "run":
                entry = _Entry(item.event.conversation_id, _who(item.event), item.event.at, item.contact)
                self._entries.append(entry)
