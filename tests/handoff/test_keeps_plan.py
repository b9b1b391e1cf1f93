"""A message read as a cancellation that does not ask for one is not a cancellation asked for again (H4 b)."""

import pytest

from backend.handoff.cues import cues_of
from backend.handoff.features import TurnView, handoff_features


@pytest.mark.parametrize(
    "text",
    [
        "no, I'm not cancelling, I was only asking",
        "I don't want to cancel, just wondering how it works",
        "i'm not going to cancel, i just wanted the price",
        "if I take the discount, can I still cancel later?",
        "will I be able to cancel any time if I switch to yearly?",
        "ok, found the cancellation page, I can take it from here",
        "never mind, I'll do it myself",
        "how do I cancel it myself?",
        "I'll stay then, thanks",
        "so you cancel people's orders without asking them?",
    ],
)
def test_the_plan_kept_a_later_cancellation_or_an_order_is_read(text: str) -> None:
    assert cues_of(text).keeps_plan


@pytest.mark.parametrize(
    "text",
    [
        "no thanks, I'd just like it cancelled",
        "I don't want the discount, cancel it",
        "it won't let me cancel",
        "why can't I cancel?",
        "I still want to cancel",
        "I'm not staying, cancel it",
        "can I cancel now?",
        "please cancel my subscription and my open order",
        "I don't want to cancel the order, I want to cancel the plan",
        "yes I'm sure, cancel it",
        "I can't cancel it myself, the button is greyed out",
    ],
)
def test_a_cancellation_insisted_on_is_not_read_as_kept(text: str) -> None:
    assert not cues_of(text).keeps_plan


def _again(text: str) -> float:
    turns = [
        TurnView("cancel_subscription", "neutral", 0.0, "how do I cancel my plan?"),
        TurnView("cancel_subscription", "neutral", 0.0, text),
    ]
    return handoff_features(turns)["cancel_again"]


def test_asking_again_counts_only_when_the_words_ask_to_cancel() -> None:
    assert _again("yes, please just cancel it") == 1
    assert _again("no no, I'm not cancelling, I only wanted to know") == 0


@pytest.mark.parametrize(
    "text",
    [
        "no thanks, the discount doesn't change anything. please go ahead and cancel",
        "just cancel it already",
        "can you cancel my subscription today?",
    ],
)
def test_a_cancellation_asked_for_in_words_the_intent_missed_counts_again(text: str) -> None:
    turns = [
        TurnView("cancel_subscription", "neutral", 0.0, "how do I cancel my plan?"),
        TurnView("nlu_fallback", "neutral", 0.0, text),
    ]
    assert cues_of(text).asks_to_cancel
    assert handoff_features(turns)["cancel_again"] == 1


@pytest.mark.parametrize("text", ["please cancel my order", "please don't cancel", "can I cancel later?"])
def test_an_order_or_no_cancellation_is_not_asked_again(text: str) -> None:
    turns = [
        TurnView("cancel_subscription", "neutral", 0.0, "how do I cancel my plan?"),
        TurnView("nlu_fallback", "neutral", 0.0, text),
    ]
    assert handoff_features(turns)["cancel_again"] == 0
