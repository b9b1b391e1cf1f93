"""The incremental sliding-window aggregator: pure, no I/O, so replaying events through it is exact.

Every event adds to per-minute buckets of (metric, key): a count, a sum and a sum of squares (events.py
says which). A window of W minutes at minute `now` is the sum of the buckets of minutes now-W+1 ... now (the
current, partial minute included), so an event stays in the last hour for exactly 60 minute boundaries.

The window totals are kept up to date as events arrive (a bucket update is added to every window that holds
its minute) and as time passes (`advance` subtracts the minutes that fell out, adds minutes that came into
range): a summary is then a read of a few dozen sums, never a scan of events or tables. Hourly buckets are
kept beside the minute buckets for charts and the anomaly baseline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

WINDOWS = {"1h": 60, "24h": 24 * 60, "7d": 7 * 24 * 60}  # minutes
BASELINE_HOURS = 7 * 24  # anomalies.py compares the last hour with this many hours before it
# Minutes kept: the 7-day window, or the last hour plus the baseline hours before it, plus the partial hours.
RETENTION_MINUTES = max(WINDOWS.values()) + 3 * 60

Key = tuple[str, str]  # (metric, key)


@dataclass(slots=True)
class Stats:
    count: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, other: Stats, sign: int = 1) -> None:
        self.count += sign * other.count
        self.total += sign * other.total
        self.squares += sign * other.squares

    @classmethod
    def of(cls, value: float | None) -> Stats:
        return cls(1, value or 0.0, (value or 0.0) ** 2)

    def is_zero(self) -> bool:
        return self.count == 0 and self.total == 0.0 and self.squares == 0.0


def minute_of(at: datetime) -> int:
    return int(at.timestamp() // 60)


class SlidingWindows:
    def __init__(self, now_minute: int) -> None:
        self.now = now_minute
        self.minutes: dict[int, dict[Key, Stats]] = defaultdict(dict)
        self.hours: dict[int, dict[Key, Stats]] = defaultdict(dict)
        self.totals: dict[str, dict[Key, Stats]] = {name: {} for name in WINDOWS}

    def add(self, minute: int, key: Key, delta: Stats) -> None:
        """Add `delta` to one bucket (negative deltas correct a bucket, see service.py's refresh)."""
        if minute <= self.now - RETENTION_MINUTES:
            return  # older than anything a window or the baseline can still ask for
        _add(self.minutes[minute], key, delta)
        _add(self.hours[minute // 60], key, delta)
        for name, length in WINDOWS.items():
            if self.now - length < minute <= self.now:
                _add(self.totals[name], key, delta)

    def advance(self, now_minute: int) -> None:
        """Move the windows' end to `now_minute`: drop minutes that left each window, add new ones."""
        if now_minute <= self.now:
            return
        old = self.now
        self.now = now_minute
        for name, length in WINDOWS.items():
            if now_minute - old >= length:
                self.totals[name] = {}
                self._add_range(name, now_minute - length + 1, now_minute, 1)
            else:
                self._add_range(name, old - length + 1, now_minute - length, -1)
                self._add_range(name, old + 1, now_minute, 1)
        self._prune()

    def _add_range(self, name: str, first: int, last: int, sign: int) -> None:
        totals = self.totals[name]
        minutes = range(first, last + 1)
        # A long jump walks the stored minutes instead of every minute of the range.
        keys: Iterable[int] = minutes if len(minutes) <= len(self.minutes) else sorted(self.minutes)
        for minute in keys:
            if first <= minute <= last and minute in self.minutes:
                for key, stats in self.minutes[minute].items():
                    _add(totals, key, stats, sign)

    def _prune(self) -> None:
        oldest = self.now - RETENTION_MINUTES
        for minute in [m for m in self.minutes if m <= oldest]:
            del self.minutes[minute]
        for hour in [h for h in self.hours if (h + 1) * 60 <= oldest]:
            del self.hours[hour]

    def window(self, name: str) -> Mapping[Key, Stats]:
        return self.totals[name]

    def bucket(self, minute: int) -> Mapping[Key, Stats]:
        return self.minutes.get(minute, {})

    def hour(self, hour: int) -> Mapping[Key, Stats]:
        return self.hours.get(hour, {})

    def span(self, first_minute: int, last_minute: int) -> dict[Key, Stats]:
        """Sums over any range of minutes (charts use it for points smaller than an hour)."""
        totals: dict[Key, Stats] = {}
        for minute in range(first_minute, last_minute + 1):
            for key, stats in self.minutes.get(minute, {}).items():
                _add(totals, key, stats)
        return totals


def _add(totals: dict[Key, Stats], key: Key, delta: Stats, sign: int = 1) -> None:
    stats = totals.get(key)
    if stats is None:
        stats = totals[key] = Stats()
    stats.add(delta, sign)
    if stats.is_zero():
        del totals[key]


# ------------------------------------------------------------------------------------------ figures


def _sum(totals: Mapping[Key, Stats], metric: str) -> Stats:
    out = Stats()
    for (name, _), stats in totals.items():
        if name == metric:
            out.add(stats)
    return out


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _mean(stats: Stats) -> float | None:
    return stats.total / stats.count if stats.count else None


def figures(totals: Mapping[Key, Stats]) -> dict[str, Any]:
    """Every dashboard figure of one window (or one chart point) from its bucket sums.

    deflection_rate = conversations that ended without a human / conversations that ended (see service.py for
    when a conversation ends); handoff_rate = hand-offs / conversations started in the window; first response
    and resolution times are measured from the hand-off, in seconds.
    """
    intents = {key: s.count for (metric, key), s in totals.items() if metric == "message" and s.count}
    sentiment, negative = _sum(totals, "sentiment"), _sum(totals, "negative")
    ended_bot, ended_human = totals.get(("ended", "bot"), Stats()), totals.get(("ended", "human"), Stats())
    conversations, handoffs = _sum(totals, "conversation").count, _sum(totals, "handoff").count
    ended = ended_bot.count + ended_human.count
    csat = _sum(totals, "csat")
    return {
        "messages": sum(intents.values()),
        "conversations": conversations,
        "bot_replies": _sum(totals, "bot_reply").count,
        "intent_mix": dict(sorted(intents.items(), key=lambda item: (-item[1], item[0]))),
        "sentiment_avg": _mean(sentiment),
        "negative_share": _ratio(negative.count, sentiment.count),
        "handoffs": handoffs,
        "handoff_rate": _ratio(handoffs, conversations),
        "conversations_ended": ended,
        "deflection_rate": _ratio(ended_bot.count, ended),
        "cases_assigned": _sum(totals, "assigned").count,
        "first_response_s": _mean(_sum(totals, "first_response")),
        "resolution_s": _mean(_sum(totals, "resolution")),
        "cases_resolved": _sum(totals, "resolution").count,
        "csat_avg": _mean(csat),
        "csat_count": csat.count,
        "sla_breaches": _sum(totals, "sla_breach").count,
    }
