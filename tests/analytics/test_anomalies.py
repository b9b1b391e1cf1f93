"""The anomaly rule: a synthetic spike is flagged, a normal week is not."""

import random
from datetime import UTC, datetime, timedelta

from backend.analytics.anomalies import baseline_hours, detect
from backend.analytics.events import Event, Kind, contributions
from backend.analytics.windows import SlidingWindows, Stats, minute_of

NOW = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)


def message(at: datetime, intent: str, negative: bool) -> Event:
    label = "negative" if negative else "neutral"
    return Event(Kind.MESSAGE_RECEIVED, at, "c", intent=intent, sentiment_label=label, sentiment_score=0.8)


def week_of_traffic(rng: random.Random, last_hour_negative_share: float = 0.15) -> SlidingWindows:
    """Eight days of steady traffic: ~30 messages an hour over two intents, 15 % negative."""
    windows = SlidingWindows(minute_of(NOW))
    events = []
    for minute in range(8 * 24 * 60):
        at = NOW - timedelta(minutes=minute)
        for intent in ("complaint", "order_status"):
            if rng.random() < 0.25:
                share = last_hour_negative_share if minute < 60 and intent == "complaint" else 0.15
                events.append(message(at, intent, rng.random() < share))
        if rng.random() < 0.05:
            events.append(Event(Kind.HANDOFF, at, "c"))
    for event in events:
        for c in contributions(event):
            windows.add(minute_of(event.at), (c.metric, c.key), Stats.of(c.value))
    return windows


def test_normal_traffic_raises_no_flag():
    for seed in range(5):
        assert detect(week_of_traffic(random.Random(seed))) == []


def test_a_spike_of_negative_sentiment_on_one_intent_is_flagged():
    flags = detect(week_of_traffic(random.Random(1), last_hour_negative_share=0.8))
    complaint = [a for a in flags if a.figure == "negative_share" and a.intent == "complaint"]
    assert len(complaint) == 1 and complaint[0].z >= 3 and complaint[0].direction == "up"
    assert not [a for a in flags if a.intent == "order_status"]
    assert "complaint" in complaint[0].description


def test_a_volume_spike_is_flagged_and_a_few_messages_are_not():
    windows = week_of_traffic(random.Random(2))
    for i in range(120):  # a burst of 120 extra messages in the last hour
        event = message(NOW - timedelta(minutes=i % 50), "order_status", False)
        for c in contributions(event):
            windows.add(minute_of(event.at), (c.metric, c.key), Stats.of(c.value))
    assert "messages" in {a.figure for a in detect(windows)}
    quiet = SlidingWindows(minute_of(NOW))
    for i in range(9):  # below the minimum count, even with no baseline at all
        for c in contributions(message(NOW - timedelta(minutes=i), "complaint", True)):
            quiet.add(minute_of(NOW - timedelta(minutes=i)), (c.metric, c.key), Stats.of(c.value))
    assert detect(quiet) == []


def test_the_baseline_is_the_168_whole_hours_before_the_last_hour():
    hours = baseline_hours(minute_of(NOW))
    assert len(hours) == 168
    last_hour_start = minute_of(NOW) - 59
    assert (hours[-1] + 1) * 60 <= last_hour_start < (hours[-1] + 2) * 60


def test_the_first_busy_hour_of_a_new_installation_is_not_an_anomaly():
    windows = SlidingWindows(minute_of(NOW))
    for i in range(50):
        for c in contributions(message(NOW - timedelta(minutes=i), "complaint", True)):
            windows.add(minute_of(NOW - timedelta(minutes=i)), (c.metric, c.key), Stats.of(c.value))
    assert detect(windows) == []
