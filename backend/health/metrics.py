"""`GET /metrics`: the Prometheus text exposition of this backend (backend/core/metrics.py has the series).

No sign-in, as Prometheus scrapes: the series hold counts and timings by route template, never a customer's
data or an id. A deployment whose backend port faces the internet blocks `/metrics` at its reverse proxy (or
scrapes through a private port), or sets METRICS_ENABLED=false to remove the route.

At each scrape the queue gauges are read from the database (one grouped query) and every Rasa replica is
probed (at once, 2 s at most), so they are exact when scraped and cost nothing in between. Hand-offs, SLA
breaches and resolved cases are counted from the lifecycle's analytics events
(backend/analytics/publisher.py), where each of them happens exactly once.
"""

import asyncio
import logging
from datetime import UTC, datetime
from typing import ClassVar

from fastapi import APIRouter, Request, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.analytics import publisher
from backend.analytics.events import Event, Kind
from backend.auth.policy import public
from backend.cases.models import Case
from backend.core import metrics
from backend.core.database import utcnow
from contract.service_api import DEFAULT_SKILL, SKILL_BY_INTENT

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

# A scrape must answer even when the database hangs: the queue gauges then keep their last values.
QUEUE_READ_TIMEOUT_S = 2.0
WAITING = ("queued", "assigned")  # handed over, not yet accepted by an agent (assigned = offered)
EXPOSITION = {200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format."}}


@router.get("/metrics", response_class=Response, responses=EXPOSITION)  # type: ignore[arg-type]
@public
async def prometheus_metrics(request: Request) -> Response:
    """Every metric of this backend (of all its workers in multiprocess mode), for Prometheus to scrape."""
    await refresh_queue(request.app.state.sessions)
    for replica, up in (await request.app.state.rasa.replica_health()).items():
        metrics.RASA_REPLICA_UP.labels(replica).set(int(up))
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


_skills_seen: set[str] = {DEFAULT_SKILL, *SKILL_BY_INTENT.values()}


async def refresh_queue(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Set the waiting-cases gauges from the database; on failure they keep their last values (logged)."""
    query = (
        select(Case.skill, func.count(), func.min(Case.created_at))
        .where(Case.status.in_(WAITING))
        .group_by(Case.skill)
    )
    try:
        async with asyncio.timeout(QUEUE_READ_TIMEOUT_S), sessions() as session:
            rows = (await session.execute(query)).all()
    except Exception:  # a scrape still shows every other metric while the database is away
        log.warning("metrics: could not read the case queue", exc_info=True)
        return
    now = utcnow()
    waiting = {skill: (count, _seconds_since(oldest, now)) for skill, count, oldest in rows}
    _skills_seen.update(waiting)
    for skill in _skills_seen:  # a queue that emptied shows 0, not its last depth
        count, oldest_s = waiting.get(skill, (0, 0.0))
        metrics.CASES_WAITING.labels(skill).set(count)
        metrics.CASE_OLDEST_WAIT_SECONDS.labels(skill).set(oldest_s)


def _seconds_since(then: datetime | None, now: datetime) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:  # an aggregate may come back without the column's type on some drivers
        then = then.replace(tzinfo=UTC)
    return max((now - then).total_seconds(), 0.0)


class EventMetrics:
    """An analytics sink that counts the lifecycle's once-only facts."""

    COUNTERS: ClassVar[dict[Kind, metrics.Counter]] = {
        Kind.HANDOFF: metrics.HANDOFFS,
        Kind.SLA_BREACHED: metrics.SLA_BREACHES,
        Kind.CASE_RESOLVED: metrics.CASES_RESOLVED,
    }

    def apply(self, event: Event) -> None:
        counter = self.COUNTERS.get(event.kind)
        if counter is not None:
            counter.inc()


_event_metrics = EventMetrics()


def count_lifecycle_events() -> None:
    """Connect the counting sink once per process (the metrics are per process, not per app)."""
    publisher.disconnect(_event_metrics)
    publisher.connect(_event_metrics)
