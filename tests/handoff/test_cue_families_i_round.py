"""The cues widened after reading set I's held-out misses (issue 14, the eighth blind writer's round): a
repeated contact dated by the customer ("I emailed you on the 15th and again on the 22nd and nobody ever got
back to me"), a team named to act ("have billing look at it"), a manager asked to decide, an order named and
disowned ("ORD-100368 I never placed ... who is ordering on my account?"), "that's not an answer", another
browser or device tried to the same end; and, kept unread, "are u a real person or a bot", which asks what the
bot is. The phrasings are written for the test in the general words of support chats, each family beside near
misses that must stay unread."""

import pytest

from backend.handoff.cues import cues_of
from backend.handoff.features import TurnView, handoff_features


@pytest.mark.parametrize(
    "text",
    [
        "I emailed you about this on the 15th and again on the 22nd",
        "nobody ever got back to me",
        "I called support last month and again on monday",
    ],
)
def test_a_contact_repeated_or_never_answered(text: str) -> None:
    assert cues_of(text).earlier_contacts


@pytest.mark.parametrize(
    "text", ["I emailed my sister the tracking link", "nobody ever got the parcel, it vanished"]
)
def test_near_misses_are_no_earlier_contact(text: str) -> None:
    assert not cues_of(text).earlier_contacts


@pytest.mark.parametrize(
    "text",
    [
        "sure, have billing look at it",
        "get the returns team to check it please",
        "could a manager make an exception",
        "can your supervisor approve it",
    ],
)
def test_a_team_or_a_manager_asked_to_act(text: str) -> None:
    assert cues_of(text).asks_for_person


@pytest.mark.parametrize(
    "text",
    [
        "can the manager of the store near me order it",
        "could your manager's name be on the invoice",
        "have the returns label ready",
        "are u a real person or a bot",
        "r u a real person?",
    ],
)
def test_near_misses_ask_for_no_person(text: str) -> None:
    assert not cues_of(text).asks_for_person


def test_asking_what_the_bot_is_is_no_request_whatever_the_intent() -> None:
    question = TurnView("bot_challenge", "neutral", 0.0, "are u a real person or a bot")
    assert handoff_features([question])["explicit_request"] == 0


@pytest.mark.parametrize(
    "text",
    [
        "ORD-100368 I never placed, I don't even know what it was",
        "who is ordering on my account?",
        "who's using my card",
    ],
)
def test_an_order_named_and_disowned(text: str) -> None:
    assert cues_of(text).disowns


@pytest.mark.parametrize(
    "text", ["who is shopping for the gift, me", "this one I never ordered online before, is it in store?"]
)
def test_near_misses_disown_nothing(text: str) -> None:
    assert not cues_of(text).disowns


@pytest.mark.parametrize(
    "text",
    [
        "thats not an answer. WHEN will it arrive",
        "tried another browser and cleared cache, still 502",
        "tried again this morning, still the same screen",
    ],
)
def test_no_answer_or_another_way_to_the_same_end(text: str) -> None:
    assert cues_of(text).not_helped


@pytest.mark.parametrize(
    "text", ["tried another size and it still fits badly", "is that an answer you can give me by email?"]
)
def test_near_misses_reject_no_answer(text: str) -> None:
    assert not cues_of(text).not_helped
