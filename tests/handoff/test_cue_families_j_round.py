"""The cues widened after reading set J's held-out misses (issue 14, the ninth blind writer's round): a
person named as "a member of your staff" and the need to discuss with them named in between ("discuss a
replacement with a member of your staff"), "I'd rather someone does it for me", the fault unchanged after the
bot's steps ("still crashes", "same crash", "requested a new one, still says expired"), a contact repeated
without saying to whom ("emailed twice since"), "that's not me" without an apostrophe, a cancellation asked
as going on with it or as a question ("proceed with the cancellation", "can I cancel and get my money
back?"), and a dictated message cut off after an article. The phrasings are written for the test in the
general words of support chats, each family beside near misses that must stay unread."""

import pytest

from backend.handoff.cues import cues_of, is_garbled
from backend.handoff.features import TurnView, handoff_features


@pytest.mark.parametrize(
    "text",
    [
        "could I go over the exchange options with a member of your staff",
        "I'd like to discuss the damaged lid and a replacement with someone from your team",
        "honestly I'd rather somebody does it for me",
    ],
)
def test_a_person_named_with_the_need_in_between(text: str) -> None:
    assert cues_of(text).asks_for_person


@pytest.mark.parametrize(
    "text",
    [
        "I discussed it with my wife and we keep the plan",
        "I'd rather do it myself, it's quicker",
        "is the member discount on top of the sale price?",
    ],
)
def test_near_misses_ask_for_no_person(text: str) -> None:
    assert not cues_of(text).asks_for_person


@pytest.mark.parametrize(
    "text",
    [
        "reinstalled like you said and it still crashes",
        "logged out and in. same login error as before",
        "clicked the new link straight away, still says invalid",
        "the same checkout crash happens",
    ],
)
def test_the_fault_unchanged_after_the_steps(text: str) -> None:
    assert cues_of(text).not_helped


@pytest.mark.parametrize(
    "text",
    [
        "does the app still crash for other people on android?",
        "I requested a refund last week, does it still show pending?",
        "same size as before please",
    ],
)
def test_near_misses_say_no_help_failed(text: str) -> None:
    assert not cues_of(text).not_helped


def test_a_contact_repeated_without_saying_to_whom() -> None:
    assert cues_of("I wrote to you on monday and emailed twice since, still nothing").earlier_contacts
    assert not cues_of("I emailed my brother twice about the gift").earlier_contacts


@pytest.mark.parametrize(
    "text", ["someone placed an order in my name. thats not me", "new device sign-in from Oslo, its not me"]
)
def test_not_me_without_an_apostrophe(text: str) -> None:
    assert cues_of(text).disowns


@pytest.mark.parametrize(
    "text",
    [
        "No thank you. Please proceed with the cancellation.",
        "go ahead with my cancellation then",
        "I joined Plus by mistake, can I cancel and get a refund?",
    ],
)
def test_a_cancellation_asked_as_going_on_with_it(text: str) -> None:
    assert cues_of(text).asks_to_cancel


@pytest.mark.parametrize("text", ["can I cancel ORD-100555?", "can i cancel one of the two orders?"])
def test_an_order_cancellation_is_no_plan_cancellation(text: str) -> None:
    assert not cues_of(text).asks_to_cancel


def test_a_cancellation_asked_in_words_earlier_makes_a_second_ask_cancel_again() -> None:
    words = "signed up for yearly by mistake, can I cancel and get it back?"
    first = TurnView("nlu_fallback", "neutral", 0.0, words)
    offer_declined = TurnView("deny", "neutral", 0.0, "not interested in a discount")
    again = TurnView("cancel_subscription", "neutral", 0.0, "ok then please cancel it")
    assert handoff_features([first, offer_declined, again])["cancel_again"] == 1


def test_a_dictated_message_cut_off_after_an_article_is_garbled() -> None:
    assert is_garbled("so I wanted to ask you about the um the thing comma the")
    assert not is_garbled("so I wanted to ask you about the plans and which one is the best")
    assert not is_garbled("what is the difference between plus and pro? asking for a")
