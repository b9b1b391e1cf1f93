"""A conversation's sentiment trajectory: each customer message's signed sentiment, smoothed, and its trend.

These are the signals the escalation model reads (backend/risk/features.py: the same signed score, slope
window and negative streak), kept per conversation so agents and supervisors see a conversation souring.
Computed from the stored messages on request: a conversation has tens of messages, not thousands.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from backend.conversations.models import Message
from backend.risk.features import SLOPE_WINDOW, negative_streak, signed_sentiment, slope

ROLLING_WINDOW = 3  # messages in the rolling mean, as the escalation feature sentiment_mean_3


@dataclass(frozen=True)
class SentimentPoint:
    message_id: int
    at: datetime
    score: float  # signed: -1 very negative .. +1 very positive
    rolling_mean: float


@dataclass(frozen=True)
class SentimentTrajectory:
    points: list[SentimentPoint]
    latest: float | None
    mean: float | None
    trend: float  # least-squares slope per message over the last SLOPE_WINDOW messages
    negative_streak: int  # consecutive negative messages at the end


def trajectory(messages: Sequence[Message]) -> SentimentTrajectory:
    """The trajectory of the customer's messages that carry a sentiment, in the order they were sent."""
    scored = [
        (m, score)
        for m in sorted(messages, key=lambda m: m.id)
        if m.sender == "customer"
        and (score := signed_sentiment(m.sentiment_label, m.sentiment_score)) is not None
    ]
    scores = [score for _, score in scored]
    points = [
        SentimentPoint(
            message_id=m.id,
            at=m.created_at,
            score=round(score, 4),
            rolling_mean=round(_mean(scores[max(0, i - ROLLING_WINDOW + 1) : i + 1]), 4),
        )
        for i, (m, score) in enumerate(scored)
    ]
    return SentimentTrajectory(
        points=points,
        latest=scores[-1] if scores else None,
        mean=round(_mean(scores), 4) if scores else None,
        trend=round(slope(scores[-SLOPE_WINDOW:]), 4),
        negative_streak=negative_streak(scores),
    )


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)
