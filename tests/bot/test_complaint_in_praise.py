"""A compliment the customer does not mean is read as a complaint (nlu/complaint_in_praise.py)."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.complaint_in_praise import READ_FROM, ComplaintInPraise
from nlu.sentiment import SENTIMENT


def parsed(text: str, intent: str, sentiment: str) -> Message:
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": intent, "confidence": 0.8}, add_to_output=True)
    ranking = [{"name": intent, "confidence": 0.8}, {"name": "complaint", "confidence": 0.1},
               {"name": "thanks", "confidence": 0.1}]  # fmt: skip
    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
    message.set(SENTIMENT, {"label": sentiment, "score": 0.0, "confidence": 0.6}, add_to_output=True)
    return message


def read(message: Message) -> Message:
    return ComplaintInPraise().process([message])[0]


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("wow, brilliant service, my parcel is STILL not here", "positive"),  # sarcasm, read as praise
        ("superb support, my email was never answered", "neutral"),
        ("nice. ten days and nothing. great.", "negative"),  # the sentiment says so
    ],
)
def test_a_negative_or_sarcastic_compliment_is_a_complaint(text: str, sentiment: str) -> None:
    message = read(parsed(text, "compliment", sentiment))
    assert message.get(INTENT) == {"name": "complaint", "confidence": 0.8}
    ranking: list[dict[str, Any]] = message.get(INTENT_RANKING_KEY)
    assert [r["name"] for r in ranking] == ["complaint", "thanks"]
    assert ranking[0]["confidence"] == 0.8
    assert message.get(READ_FROM) == "compliment"
    assert READ_FROM in message.as_dict(only_output_properties=True)


@pytest.mark.parametrize(
    ("text", "intent", "sentiment"),
    [
        ("great service, thank you so much!", "compliment", "positive"),
        ("the parcel came today, lovely work", "compliment", "neutral"),  # praise, nothing failing
        ("still not here, this is a joke", "complaint", "negative"),  # already a complaint
        ("oh great, it arrived", "thanks", "negative"),  # only compliments are read again
    ],
)
def test_meant_praise_and_other_intents_stay(text: str, intent: str, sentiment: str) -> None:
    message = read(parsed(text, intent, sentiment))
    assert message.get(INTENT)["name"] == intent
    assert message.get(READ_FROM) is None


def test_a_message_without_sentiment_or_intent_is_left_alone() -> None:
    bare = Message(data={TEXT: "wow, amazing answer, so helpful 🙄"})
    assert read(bare).get(INTENT) is None
    unscored = Message(data={TEXT: "wow, amazing answer, so helpful 🙄"})
    unscored.set(INTENT, {"name": "compliment", "confidence": 0.9})
    assert read(unscored).get(INTENT)["name"] == "complaint"  # the sarcasm alone is enough
