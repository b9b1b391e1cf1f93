"""The analytics service of one backend worker: in-memory windows, shared minute buckets, the idle sweep.

How the figures stay incremental and shared across workers:

1. An event (publisher.publish) is applied at once to this worker's SlidingWindows (windows.py) and added to
   `pending`, this worker's bucket deltas not yet written.
2. Every ANALYTICS_FLUSH_INTERVAL_S a background task upserts `pending` into `analytics_buckets`
   (count += n, total += x, squares += x², one row per minute, metric and key), then re-reads the rows any
   worker changed since its last look (`updated_at`) and sets its own buckets to database value + its own
   unwritten deltas, adding the difference to the windows. So each worker's windows converge on every
   worker's events within about one interval, and no request ever scans messages or cases.
3. At start-up the buckets of the retention span (7 days and the anomaly baseline) are loaded once.

When a conversation ends (deflection rate's denominator): a conversation with no open case ends once it has
been idle ANALYTICS_IDLE_END_S (default 30 minutes). The sweep here only sets the pace: the lifecycle ends
it (backend/lifecycle/conversations.py, end_idle), so with several workers exactly one emits
`conversation_ended`, timed at last message + idle time (the moment it became idle, whenever the sweep ran).
It ended "without a human" when no case was ever opened for it. A customer who writes again reopens it, and
its next ending counts again. Analytics itself only reads and counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.analytics import anomalies, publisher
from backend.analytics.events import Event, contributions
from backend.analytics.models import AnalyticsAppliedEvent, AnalyticsBucket
from backend.analytics.windows import RETENTION_MINUTES, Key, SlidingWindows, Stats, figures, minute_of
from backend.core.background import Periodic
from backend.core.config import Settings
from backend.core.database import conflict_insert, utcnow
from backend.lifecycle import conversations as lifecycle

log = logging.getLogger(__name__)

REFRESH_OVERLAP = timedelta(seconds=30)  # re-read a little before the last look: commits land late
SWEEP_EVERY = 15  # flush rounds between idle sweeps
APPLIED_KEPT = timedelta(days=1)  # how long a consumed event's key is kept against redelivery
BucketId = tuple[int, str, str]  # minute, metric, key
# Chart points per window: (minutes per point, points)
SERIES = {"1h": (5, 12), "24h": (60, 24), "7d": (360, 28)}


class AnalyticsService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings
        self.windows = SlidingWindows(minute_of(utcnow()))
        self._pending: dict[BucketId, Stats] = {}
        # Keys of consumed broker messages whose deltas are in `_pending`: written in the same commit.
        self._pending_keys: set[str] = set()
        self._last_look: datetime | None = None
        # Writing and re-reading the buckets take turns (the consumer flushes too): a refresh that ran while
        # a batch was being written would see neither the batch in the database nor in `pending`.
        self._bucket_lock = asyncio.Lock()
        self._rounds = 0
        self._writing: asyncio.Future[None] | None = None
        # A failed round (e.g. a database restart) is logged and the next one tries again.
        self.loop = Periodic("analytics", self._round, settings.analytics_flush_interval_s)

    # ------------------------------------------------------------------ events in

    def apply(self, event: Event) -> None:
        self.windows.advance(minute_of(utcnow()))
        minute = minute_of(event.at)
        if minute <= self.windows.now - RETENTION_MINUTES:
            return
        for c in contributions(event):
            delta = Stats.of(c.value)
            self.windows.add(minute, (c.metric, c.key), delta)
            self._pending.setdefault((minute, c.metric, c.key), Stats()).add(delta)

    def remember(self, key: str) -> None:
        """The events of the broker message `key` were just applied: record it with their buckets."""
        self._pending_keys.add(key)

    async def applied_before(self, key: str) -> bool:
        """Whether a broker message's events are already counted, here or (committed) by any worker."""
        if key in self._pending_keys:
            return True
        async with self._sessions() as session:
            query = select(exists().where(AnalyticsAppliedEvent.key == key))
            return bool(await session.scalar(query))

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        try:
            await self.load()
        except Exception:  # a database hiccup at start-up must not keep the backend from serving
            log.exception("analytics: could not load the buckets; starting empty")
        publisher.connect(self)
        self.loop.start()

    async def stop(self) -> None:
        publisher.disconnect(self)
        await self.loop.stop()
        if self._writing is not None:
            with contextlib.suppress(Exception):
                await self._writing
        with contextlib.suppress(Exception):
            await self.flush()

    async def _round(self) -> None:
        rounds, self._rounds = self._rounds, self._rounds + 1
        await self.sync()
        if rounds % SWEEP_EVERY == 0:
            await self.sweep_idle(utcnow())
            await self.forget_applied(utcnow() - APPLIED_KEPT)

    async def sync(self) -> None:
        await self.flush()
        await self.refresh()
        self.windows.advance(minute_of(utcnow()))

    # ------------------------------------------------------------------ buckets

    async def load(self) -> None:
        oldest = minute_of(utcnow()) - RETENTION_MINUTES
        self._last_look = utcnow()
        async with self._sessions() as session:
            rows = await session.execute(select(AnalyticsBucket).where(AnalyticsBucket.minute > oldest))
            for row in rows.scalars():
                self.windows.add(row.minute, (row.metric, row.key), Stats(row.count, row.total, row.squares))

    async def flush(self) -> None:
        async with self._bucket_lock:
            await self._flush()

    async def _flush(self) -> None:
        if not self._pending and not self._pending_keys:
            return
        batch, self._pending = self._pending, {}
        keys, self._pending_keys = self._pending_keys, set()
        # Shielded: a stop that cancels the round mid-write must neither lose the batch nor, by putting it
        # back after a commit it could not see, count it twice. The write finishes (or fails and restores
        # it), and stop() waits for it before its own last flush.
        self._writing = asyncio.ensure_future(self._write(batch, keys))
        await asyncio.shield(self._writing)

    async def _write(self, batch: dict[BucketId, Stats], keys: set[str]) -> None:
        try:
            async with self._sessions() as session:
                now = utcnow()
                if batch:
                    await session.execute(_upsert(session, batch, now))
                if keys:
                    await session.execute(_record_applied(session, keys, now))
                await session.commit()
        except Exception:
            for bucket, stats in batch.items():  # keep them for the next round
                self._pending.setdefault(bucket, Stats()).add(stats)
            self._pending_keys |= keys
            raise

    async def forget_applied(self, before: datetime) -> None:
        """Drop the keys of events consumed before `before`: no broker redelivers that late."""
        async with self._sessions() as session:
            await session.execute(
                delete(AnalyticsAppliedEvent).where(AnalyticsAppliedEvent.applied_at < before)
            )
            await session.commit()

    async def refresh(self) -> None:
        """Take over what other workers wrote since the last look (this worker's own rows come back too)."""
        async with self._bucket_lock:
            await self._refresh()

    async def _refresh(self) -> None:
        started = utcnow()
        since = (self._last_look or started) - REFRESH_OVERLAP
        oldest = self.windows.now - RETENTION_MINUTES
        changed = (AnalyticsBucket.updated_at >= since) & (AnalyticsBucket.minute > oldest)
        query = select(AnalyticsBucket).where(changed)
        async with self._sessions() as session:
            rows = list((await session.execute(query)).scalars())
        for row in rows:
            key: Key = (row.metric, row.key)
            target = Stats(row.count, row.total, row.squares)
            target.add(self._pending.get((row.minute, row.metric, row.key), Stats()))
            current = self.windows.bucket(row.minute).get(key, Stats())
            delta = Stats(target.count - current.count, target.total - current.total,
                          target.squares - current.squares)  # fmt: skip
            if not delta.is_zero():
                self.windows.add(row.minute, key, delta)
        self._last_look = started

    async def sweep_idle(self, now: datetime) -> int:
        """Ask the lifecycle to end conversations idle for ANALYTICS_IDLE_END_S (see the module docstring).

        Ending a conversation is a domain change, so it happens in backend/lifecycle/; the sweep only sets
        the pace, and the `conversation_ended` event it publishes comes back here to be counted."""
        idle = timedelta(seconds=self._settings.analytics_idle_end_s)
        async with self._sessions() as session:
            return await lifecycle.end_idle(session, now, idle)

    # ------------------------------------------------------------------ figures out

    def summary(self, window: str) -> dict[str, Any]:
        self.windows.advance(minute_of(utcnow()))
        return figures(self.windows.window(window))

    def series(self, window: str) -> list[dict[str, Any]]:
        """Chart points ending now: 5-minute points for 1 h, hourly for 24 h, 6-hourly for 7 d."""
        self.windows.advance(minute_of(utcnow()))
        step, points = SERIES[window]
        last = self.windows.now
        out = []
        for i in range(points - 1, -1, -1):
            end = last - i * step
            point = figures(self.windows.span(end - step + 1, end))
            point["start"] = _minute_time(end - step + 1)
            out.append(point)
        return out

    def anomalies(self) -> list[anomalies.Anomaly]:
        self.windows.advance(minute_of(utcnow()))
        return anomalies.detect(self.windows)


def _minute_time(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=utcnow().tzinfo)


def _upsert(session: AsyncSession, batch: dict[BucketId, Stats], now: datetime) -> Any:
    """One statement adding the batch to the shared rows; sorted so concurrent workers lock rows in order."""
    rows = [
        {"minute": m, "metric": metric, "key": key, "count": s.count, "total": s.total, "squares": s.squares,
         "updated_at": now}
        for (m, metric, key), s in sorted(batch.items())
    ]  # fmt: skip
    statement = conflict_insert(session.get_bind().dialect.name, AnalyticsBucket).values(rows)
    table = AnalyticsBucket.__table__.c
    return statement.on_conflict_do_update(
        index_elements=["minute", "metric", "key"],
        set_={
            "count": table.count + statement.excluded.count,
            "total": table.total + statement.excluded.total,
            "squares": table.squares + statement.excluded.squares,
            "updated_at": statement.excluded.updated_at,
        },
    )


def _record_applied(session: AsyncSession, keys: set[str], now: datetime) -> Any:
    """The consumed messages' keys; one already there (another worker's commit) is left as it is."""
    rows = [{"key": key, "applied_at": now} for key in sorted(keys)]
    statement = conflict_insert(session.get_bind().dialect.name, AnalyticsAppliedEvent).values(rows)
    return statement.on_conflict_do_nothing(index_elements=["key"])
