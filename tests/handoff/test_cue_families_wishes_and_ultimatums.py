"""Requests, ultimatums and sarcasm put in other common ways, read after the dev replay's misses of 2026-12-06
(issue 14): "a person would be good", "can your team check what's going on", "go ahead and trace it", "sort it
out or I'm cancelling", "thanks for absolutely nothing". The phrasings are written for the test in the general
words of support chats, each family beside near misses that must stay unread."""

import pytest

from backend.handoff.cues import asks_for_person, cues_of
from backend.handoff.features import TurnView, handoff_features


@pytest.mark.parametrize(
    "text",
    [
        "yes please, a person would be great",
        "an agent would be better for this",
        "honestly a real person sounds better",
        "could your team look into it?",
        "can the support team check what happened to my refund",
        "would your staff be able to sort it",
        "ok go ahead and trace it",
        "please trace my parcel",
    ],
)
def test_a_person_wished_for_or_the_team_asked_to_act_is_a_request(text: str) -> None:
    assert asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "can your team plan be shared with my partner?",
        "can the team members all use one login",
        "how do I trace it myself?",
        "did you trace it already?",
        "the tracking says a person would be needed to sign for it",
    ],
)
def test_near_misses_are_not_a_request(text: str) -> None:
    assert not asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "sort it out or I'm cancelling",
        "fix this or else I'll go elsewhere",
        "refund me, otherwise I'm disputing the charge",
        "deal with it or i'm done with you",
    ],
)
def test_an_ultimatum_put_with_or_is_a_threat(text: str) -> None:
    assert cues_of(text).threatens


@pytest.mark.parametrize("text", ["fix it or tell me how to do it myself", "sort it out or else refund me"])
def test_an_either_or_request_is_not_a_threat(text: str) -> None:
    assert not cues_of(text).threatens


def test_thanks_for_nothing_with_an_intensifier_is_blame() -> None:
    assert cues_of("thanks for absolutely nothing").blames
    assert not cues_of("thanks, that was absolutely everything I needed").blames


def test_blame_with_a_threat_is_dissatisfaction_with_a_cause_whatever_the_label() -> None:
    """H3 (c): a negative message that threatens to leave. The sentiment model may read sarcasm as neutral;
    the blame in the words is enough, as for H3 (a)."""
    text = "your service is a joke. sort it out or im cancelling"
    features = handoff_features([TurnView("billing_question", "neutral", 0.0, text)])
    assert features["dissatisfied_with_cause"] == 1
    polite = "could you sort it out please, or I'll have to cancel the order"
    polite_features = handoff_features([TurnView("order_status", "neutral", 0.0, polite)])
    assert polite_features["dissatisfied_with_cause"] == 0
