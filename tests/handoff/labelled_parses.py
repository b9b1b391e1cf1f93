"""Parses of the dev conversations without a Rasa model: the labelled sentiment stands in for the model's and
there is no intent, so a policy fitted on them reads the customers' words and the sentiment."""

from collections.abc import Sequence
from typing import Any

from ml.conversations import LabelledConversation

SCORE = {"negative": -0.8, "neutral": 0.0, "positive": 0.8}


def labelled_parses(items: Sequence[LabelledConversation]) -> dict[str, list[dict[str, Any]]]:
    return {
        c.id: [
            {
                "intent": None,
                "confidence": 1.0,
                "sentiment_label": t.sentiment,
                "sentiment_score": SCORE[t.sentiment],
            }
            for t in c.turns
        ]
        for c in items
    }
