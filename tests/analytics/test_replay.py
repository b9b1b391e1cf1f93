"""1,000 seeded events replayed through the incremental windows equal a brute-force recomputation.

The brute force below does not use events.contributions() or windows.figures(): it filters the raw event list
by window and computes every figure from the events' own fields, so a bookkeeping slip in the incremental
path (an expired minute not subtracted, a late event added to the wrong window) shows as a difference.
"""

import random
from datetime import UTC, datetime, timedelta

import pytest

from backend.analytics.events import NO_INTENT, Event, Kind, contributions
from backend.analytics.windows import WINDOWS, SlidingWindows, Stats, figures, minute_of
from backend.risk.features import signed_sentiment

START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
SPAN = timedelta(days=8)
INTENTS = ["order_status", "complaint", "billing_question", "cancel_subscription", None]


def random_event(rng: random.Random, at: datetime) -> Event:
    kind = rng.choice(list(Kind))
    conversation = f"c{rng.randrange(200)}"
    if kind is Kind.MESSAGE_RECEIVED:
        label = rng.choice(["negative", "neutral", "positive", None])
        score = round(rng.uniform(-1, 1), 3) if label and rng.random() < 0.9 else None
        return Event(kind, at, conversation, intent=rng.choice(INTENTS), sentiment_label=label,
                     sentiment_score=score)  # fmt: skip
    if kind in (Kind.FIRST_RESPONSE, Kind.CASE_RESOLVED):
        return Event(kind, at, conversation, seconds=round(rng.uniform(5, 7200), 1))
    if kind is Kind.CSAT_GIVEN:
        return Event(kind, at, conversation, score=rng.randint(1, 5))
    if kind is Kind.CONVERSATION_ENDED:
        return Event(kind, at, conversation, human=rng.random() < 0.3)
    return Event(kind, at, conversation)


def seeded_events(n: int = 1000, seed: int = 20261201) -> list[Event]:
    rng = random.Random(seed)
    events = [random_event(rng, START + SPAN * rng.random()) for _ in range(n)]
    return sorted(events, key=lambda e: e.at)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def brute_force(events: list[Event], now: datetime, minutes: int) -> dict:
    now_minute = minute_of(now)
    inside = [e for e in events if now_minute - minutes < minute_of(e.at) <= now_minute]
    of = lambda kind: [e for e in inside if e.kind is kind]  # noqa: E731
    messages = of(Kind.MESSAGE_RECEIVED)
    labelled = [e for e in messages if e.sentiment_label is not None]
    signed = [signed_sentiment(e.sentiment_label, e.sentiment_score) for e in labelled]
    ended = of(Kind.CONVERSATION_ENDED)
    conversations, handoffs = len(of(Kind.CONVERSATION_STARTED)), len(of(Kind.HANDOFF))
    intents: dict[str, int] = {}
    for e in messages:
        intents[e.intent or NO_INTENT] = intents.get(e.intent or NO_INTENT, 0) + 1
    return {
        "messages": len(messages),
        "conversations": conversations,
        "bot_replies": len(of(Kind.BOT_REPLIED)),
        "intent_mix": intents,
        "sentiment_avg": mean(signed),
        "negative_share": (sum(e.sentiment_label == "negative" for e in labelled) / len(labelled))
        if labelled else None,
        "handoffs": handoffs,
        "handoff_rate": handoffs / conversations if conversations else None,
        "conversations_ended": len(ended),
        "deflection_rate": sum(not e.human for e in ended) / len(ended) if ended else None,
        "cases_assigned": len(of(Kind.CASE_ASSIGNED)),
        "first_response_s": mean([e.seconds for e in of(Kind.FIRST_RESPONSE)]),
        "resolution_s": mean([e.seconds for e in of(Kind.CASE_RESOLVED)]),
        "cases_resolved": len(of(Kind.CASE_RESOLVED)),
        "csat_avg": mean([float(e.score) for e in of(Kind.CSAT_GIVEN)]),
        "csat_count": len(of(Kind.CSAT_GIVEN)),
        "sla_breaches": len(of(Kind.SLA_BREACHED)),
    }  # fmt: skip


def apply(windows: SlidingWindows, event: Event) -> None:
    for c in contributions(event):
        windows.add(minute_of(event.at), (c.metric, c.key), Stats.of(c.value))


def assert_same(incremental: dict, expected: dict, where: str) -> None:
    assert incremental.keys() == expected.keys()
    for name, value in expected.items():
        if isinstance(value, float):
            assert incremental[name] == pytest.approx(value, rel=1e-9, abs=1e-12), f"{name} at {where}"
        else:
            assert incremental[name] == value, f"{name} at {where}"


def test_thousand_events_replayed_equal_brute_force_at_many_instants():
    events = seeded_events()
    rng = random.Random(5)
    # Checkpoints: regular ones, right before/after an event's minute, and a few right at window edges.
    checkpoints = sorted(
        {START + SPAN * rng.random() for _ in range(25)}
        | {events[i].at + timedelta(minutes=m) for i in (10, 400, 999) for m in (0, 59, 60, 61, 1439, 1440)}
    )
    windows = SlidingWindows(minute_of(START) - 1)
    pending = list(events)
    checked, busy_hours = 0, 0
    for now in checkpoints:
        while pending and minute_of(pending[0].at) <= minute_of(now):
            event = pending.pop(0)
            windows.advance(minute_of(event.at))
            apply(windows, event)
        windows.advance(minute_of(now))
        for name, minutes in WINDOWS.items():
            expected = brute_force(events, now, minutes)
            assert_same(figures(windows.window(name)), expected, f"{name} {now.isoformat()}")
            checked += 1
        busy_hours += figures(windows.window("1h"))["messages"] > 0
    assert checked == len(checkpoints) * 3
    # Not a vacuous comparison: last hours held messages, and the 7-day window at the end lost the first day.
    assert busy_hours >= 5
    assert (
        0 < figures(windows.window("7d"))["messages"] < sum(e.kind is Kind.MESSAGE_RECEIVED for e in events)
    )


def test_late_and_out_of_order_events_land_in_the_right_windows():
    """Events arriving late (a RabbitMQ backlog) or out of order give the same figures as in order."""
    events = seeded_events(seed=7)
    shuffled = list(events)
    random.Random(3).shuffle(shuffled)
    now = START + SPAN
    windows = SlidingWindows(minute_of(now))
    for event in shuffled:
        apply(windows, event)
    for name, minutes in WINDOWS.items():
        assert_same(figures(windows.window(name)), brute_force(events, now, minutes), name)


def test_windows_expire_everything_after_a_long_silence():
    """After more than the retention (7 days + the baseline's extra hours) nothing is left in memory."""
    events = seeded_events(200, seed=11)
    windows = SlidingWindows(minute_of(START) - 1)
    for event in events:
        windows.advance(minute_of(event.at))
        apply(windows, event)
    later = START + SPAN + timedelta(days=8)
    windows.advance(minute_of(later))
    for name in WINDOWS:
        assert figures(windows.window(name))["messages"] == 0
        assert windows.window(name) == {}
    assert windows.minutes == {}
