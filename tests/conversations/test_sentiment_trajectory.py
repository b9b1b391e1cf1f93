"""The per-conversation sentiment trajectory agents see: signed scores, rolling mean, trend and streak."""

from datetime import UTC, datetime, timedelta

import pytest

from backend.conversations.models import Message
from backend.conversations.sentiment import trajectory

START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def message(i: int, sender: str, label: str | None, score: float | None) -> Message:
    return Message(
        id=i,
        conversation_id="c",
        sender=sender,
        text=f"message {i}",
        sentiment_label=label,
        sentiment_score=score,
        created_at=START + timedelta(seconds=i),
    )


def test_a_souring_conversation_has_a_falling_trend_and_a_negative_streak():
    messages = [
        message(1, "customer", "positive", 0.6),
        message(2, "bot", None, None),  # the bot's replies carry no sentiment and are skipped
        message(3, "customer", "neutral", 0.1),
        message(4, "customer", "negative", 0.7),
        message(5, "customer", "negative", 0.9),
    ]
    trend = trajectory(messages)
    assert [p.message_id for p in trend.points] == [1, 3, 4, 5]
    assert [p.score for p in trend.points] == [0.6, 0.0, -0.7, -0.9]
    assert trend.points[-1].rolling_mean == pytest.approx((0.0 - 0.7 - 0.9) / 3, abs=1e-4)
    assert trend.latest == -0.9 and trend.negative_streak == 2
    assert trend.trend == pytest.approx(-0.52, abs=1e-4)  # least-squares slope of 0.6, 0, -0.7, -0.9
    assert trend.mean == pytest.approx(-0.25, abs=1e-4)


def test_a_conversation_without_scored_messages_has_an_empty_trajectory():
    trend = trajectory([message(1, "customer", None, None), message(2, "agent", None, None)])
    assert trend.points == [] and trend.latest is None and trend.mean is None
    assert trend.trend == 0.0 and trend.negative_streak == 0


def test_messages_are_taken_in_the_order_they_were_stored():
    trend = trajectory([message(2, "customer", "negative", 0.5), message(1, "customer", "positive", 0.5)])
    assert [p.score for p in trend.points] == [0.5, -0.5] and trend.trend == pytest.approx(-1.0)
