"""Each team's waiting queue (a team is a skill: a case waits for agents holding it): its length against
QUEUE_MAX_LENGTH, and a waiting customer's place in it with an estimate of the wait.

Place: the order in which routing serves the team (routing.plan: highest effective priority first, then the
longest waiting), among the team's queued cases; 1 is next.

Estimate (documented in the README): minutes = ceil(place x H / C / 60), where
  H = median handle time (offered -> resolved) of the team's last ESTIMATE_SAMPLE resolved cases, or
      QUEUE_DEFAULT_HANDLE_S while it has none;
  C = the capacity of the team's online agents (the sum of their maximum concurrent cases, at least 1).
C slots each free up about every H seconds, so the customer N-th in line waits about N x H / C. Handle times
rather than the last hour's assignment rate: a quiet hour has no assignments to measure, yet the next
customer still needs an estimate. It is a median, so one case left open over lunch does not move it.
"""

import math
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.cases import routing
from backend.cases.models import Case
from backend.conversations.notifier import Notifier
from backend.core.config import Settings

ESTIMATE_SAMPLE = 50


@dataclass(frozen=True)
class Place:
    team: str
    position: int  # 1 is next
    waiting: int  # cases in the team's queue
    estimate_minutes: int

    def frame(self) -> dict[str, object]:
        """The widget's `queue` frame (README, message protocol)."""
        return {
            "type": "queue",
            "position": self.position,
            "estimate_minutes": self.estimate_minutes,
            "team": self.team,
        }


LEFT_QUEUE = {"type": "queue", "position": None, "estimate_minutes": None, "team": None}


def team_limit(settings: Settings, team: str) -> int:
    """The team's longest queue; 0 means no limit."""
    return settings.queue_max_length_by_team.get(team, settings.queue_max_length)


async def queue_length(session: AsyncSession, team: str) -> int:
    query = select(func.count(Case.id)).where(Case.status == "queued", Case.skill == team)
    return int((await session.execute(query)).scalar_one())


async def is_full(session: AsyncSession, settings: Settings, team: str) -> bool:
    limit = team_limit(settings, team)
    return limit > 0 and await queue_length(session, team) >= limit


# The columns a place is computed from, not whole Case objects: the routing loop reads every queued case
# after each round, and loading each row as an ORM object cost about 30 us of CPU per case per round.
QUEUED = select(Case.id, Case.conversation_id, Case.skill, Case.priority, Case.created_at).where(
    Case.status == "queued"
)


async def places(session: AsyncSession, settings: Settings, now: datetime) -> dict[str, Place]:
    """Every queued case's place, by conversation id."""
    cases = (await session.execute(QUEUED)).all()
    weights = routing.PriorityWeights.from_settings(settings)
    by_team: dict[str, list[Row[Any]]] = {}
    for case in cases:
        by_team.setdefault(case.skill, []).append(case)
    result = {}
    for team, waiting in by_team.items():
        seconds_per_place = await _seconds_per_place(session, settings, team)
        order = sorted(waiting, key=lambda c: _serving_order(c, now, weights))
        for position, case in enumerate(order, start=1):
            minutes = math.ceil(position * seconds_per_place / 60)
            result[case.conversation_id] = Place(team, position, len(order), minutes)
    return result


async def place_of(
    session: AsyncSession, settings: Settings, conversation_id: str, now: datetime
) -> Place | None:
    """The conversation's place in its team's queue; None when it is not waiting in one."""
    return (await places(session, settings, now)).get(conversation_id)


def _serving_order(
    case: Row[Any], now: datetime, weights: routing.PriorityWeights
) -> tuple[float, datetime, int]:
    priority = routing.effective_priority(case.priority, case.created_at, now, weights)
    return (-priority, case.created_at, case.id)  # routing.plan's order


async def _seconds_per_place(session: AsyncSession, settings: Settings, team: str) -> float:
    handle = await median_handle_s(session, team) or float(settings.queue_default_handle_s)
    return handle / await online_capacity(session, team)


async def median_handle_s(session: AsyncSession, team: str) -> float | None:
    query = (
        select(Case.assigned_at, Case.resolved_at)
        .where(Case.skill == team, Case.status == "resolved", Case.assigned_at.is_not(None))
        .order_by(Case.resolved_at.desc())
        .limit(ESTIMATE_SAMPLE)
    )
    spans = [(r - a).total_seconds() for a, r in (await session.execute(query)).all() if r is not None]
    spans = [s for s in spans if s > 0]
    return statistics.median(spans) if spans else None


async def online_capacity(session: AsyncSession, team: str) -> int:
    agents = (await session.execute(select(Agent).where(Agent.status == "online"))).scalars()
    return max(sum(a.max_concurrent_cases for a in agents if (a.skills or {}).get(team, 0) >= 1), 1)


class QueueBroadcaster:
    """Pushes each waiting customer's place to their widget when it changes, and once more (position
    null) when they leave the queue. One per backend worker, run by its routing loop after every round;
    with several workers each may push the same frame, which the widget simply shows again."""

    def __init__(self, notifier: Notifier, settings: Settings) -> None:
        self._notifier = notifier
        self._settings = settings
        self._sent: dict[str, Place] = {}

    async def publish(self, session: AsyncSession, now: datetime) -> None:
        current = await places(session, self._settings, now)
        await session.commit()  # end the read transaction: the loop's session lives on
        for conversation_id in self._sent.keys() - current.keys():
            self._notifier.publish(conversation_id, LEFT_QUEUE)
        for conversation_id, place in current.items():
            if self._sent.get(conversation_id) != place:
                self._notifier.publish(conversation_id, place.frame())
        self._sent = current
