"""Anomaly flags: the last hour against the same figure over the 7 days (168 whole hours) before it.

The rule is a standardized difference, |z| >= 3 in the harmful direction, with a minimum number of
observations on both sides so that a handful of messages never raises a flag. Three kinds of figures:

- counts per hour (messages, hand-offs, SLA breaches): z = (x - mean) / max(sd, sqrt(mean), 1) over the 168
  hourly counts (quiet hours count as zero). The Poisson floor sqrt(mean) keeps a flat baseline from making
  every small bump a flag. Flagged when z >= 3, x >= min_count and the baseline week itself holds at least
  min_count (a new installation has no baseline, so its first busy hour is not an anomaly).
- shares (negative sentiment overall and per intent, bot deflection): a one-sample proportion test against the
  pooled baseline share p0, z = (p - p0) / sqrt(p0 (1 - p0) / n). Pooling the week, rather than averaging
  hourly shares, keeps rare intents (few messages an hour) comparable. Flagged when n and the baseline's n are
  both >= min_count. p0 is kept inside [1/(2 n0), 1 - 1/(2 n0)] so a baseline without any negative message
  does not make z infinite.
- means (first response and resolution time, CSAT, average sentiment): z = (m - m0) / (sd0 / sqrt(n)) with the
  baseline's mean and standard deviation from the buckets' sums and sums of squares.

Pure functions of the buckets: anomalies are computed on request from the in-memory windows, not from tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from backend.analytics.windows import BASELINE_HOURS, WINDOWS, Key, SlidingWindows, Stats

Z_THRESHOLD = 3.0
MIN_COUNT = 10

# figure -> (metric in the buckets, +1 when a rise is harmful, -1 when a fall is)
COUNTS = {"messages": ("message", 1), "handoffs": ("handoff", 1), "sla_breaches": ("sla_breach", 1)}
MEANS = {
    "first_response_s": ("first_response", 1),
    "resolution_s": ("resolution", 1),
    "csat_avg": ("csat", -1),
    "sentiment_avg": ("sentiment", -1),
}


@dataclass(frozen=True)
class Anomaly:
    figure: str
    intent: str | None  # per-intent flags (negative sentiment share), else None
    value: float
    baseline: float
    z: float
    n: int  # observations in the last hour
    direction: str  # "up" or "down"

    @property
    def description(self) -> str:
        scope = f" on {self.intent}" if self.intent else ""
        compared = f"{self.value:.3g} vs baseline {self.baseline:.3g}"
        return f"{self.figure}{scope} {self.direction}: {compared} (z={self.z:.1f})"


def baseline_hours(now_minute: int) -> range:
    """The 168 whole clock hours that end at or before the last hour starts (no overlap with it)."""
    last_hour_start = now_minute - WINDOWS["1h"] + 1
    last = last_hour_start // 60 - 1
    return range(last - BASELINE_HOURS + 1, last + 1)


def detect(
    windows: SlidingWindows, z_threshold: float = Z_THRESHOLD, min_count: int = MIN_COUNT
) -> list[Anomaly]:
    current = windows.window("1h")
    hours = [windows.hour(h) for h in baseline_hours(windows.now)]
    found: list[Anomaly] = []
    for figure, (metric, harm) in COUNTS.items():
        found += _count_flag(figure, metric, harm, current, hours, z_threshold, min_count)
    for figure, (metric, harm) in MEANS.items():
        found += _mean_flag(
            figure, _total(current, metric), _pooled(hours, metric), harm, z_threshold, min_count
        )
    found += _share_flag(
        "negative_share",
        None,
        _total(current, "negative").count,
        _total(current, "sentiment").count,
        _pooled(hours, "negative").count,
        _pooled(hours, "sentiment").count,
        1,
        z_threshold,
        min_count,
    )
    for intent in sorted({key for metric, key in current if metric == "sentiment"}):
        n_neg, n = _get(current, ("negative", intent)).count, _get(current, ("sentiment", intent)).count
        base_neg = sum(_get(h, ("negative", intent)).count for h in hours)
        base_n = sum(_get(h, ("sentiment", intent)).count for h in hours)
        found += _share_flag("negative_share", intent, n_neg, n, base_neg, base_n, 1, z_threshold, min_count)
    bot, human = _get(current, ("ended", "bot")).count, _get(current, ("ended", "human")).count
    base_bot = sum(_get(h, ("ended", "bot")).count for h in hours)
    base_all = base_bot + sum(_get(h, ("ended", "human")).count for h in hours)
    found += _share_flag(
        "deflection_rate", None, bot, bot + human, base_bot, base_all, -1, z_threshold, min_count
    )
    return sorted(found, key=lambda a: -abs(a.z))


def _get(totals: Mapping[Key, Stats], key: Key) -> Stats:
    return totals.get(key) or Stats()


def _total(totals: Mapping[Key, Stats], metric: str) -> Stats:
    out = Stats()
    for (name, _), stats in totals.items():
        if name == metric:
            out.add(stats)
    return out


def _pooled(hours: Sequence[Mapping[Key, Stats]], metric: str) -> Stats:
    out = Stats()
    for hour in hours:
        out.add(_total(hour, metric))
    return out


def _flag(
    figure: str, intent: str | None, value: float, base: float, z: float, n: int, harm: int, threshold: float
) -> list[Anomaly]:
    if z * harm < threshold:
        return []
    return [Anomaly(figure, intent, value, base, z, n, "up" if z > 0 else "down")]


def _count_flag(
    figure: str,
    metric: str,
    harm: int,
    current: Mapping[Key, Stats],
    hours: Sequence[Mapping[Key, Stats]],
    threshold: float,
    min_count: int,
) -> list[Anomaly]:
    values = [_total(h, metric).count for h in hours]
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    x = _total(current, metric).count
    if x < min_count or sum(values) < min_count:
        return []
    z = (x - mean) / max(sd, math.sqrt(mean), 1.0)
    return _flag(figure, None, x, mean, z, x, harm, threshold)


def _share_flag(
    figure: str,
    intent: str | None,
    hits: int,
    n: int,
    base_hits: int,
    base_n: int,
    harm: int,
    threshold: float,
    min_count: int,
) -> list[Anomaly]:
    if n < min_count or base_n < min_count:
        return []
    floor = 1 / (2 * base_n)
    p0 = min(max(base_hits / base_n, floor), 1 - floor)
    p = hits / n
    z = (p - p0) / math.sqrt(p0 * (1 - p0) / n)
    return _flag(figure, intent, p, base_hits / base_n, z, n, harm, threshold)


def _mean_flag(
    figure: str, current: Stats, base: Stats, harm: int, threshold: float, min_count: int
) -> list[Anomaly]:
    if current.count < max(min_count // 2, 2) or base.count < min_count:
        return []
    m0 = base.total / base.count
    sd0 = math.sqrt(max(base.squares / base.count - m0 * m0, 0.0))
    if sd0 == 0.0:
        return []
    m = current.total / current.count
    z = (m - m0) / (sd0 / math.sqrt(current.count))
    return _flag(figure, None, m, m0, z, current.count, harm, threshold)
