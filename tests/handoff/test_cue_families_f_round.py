"""The cues widened after reading set F's held-out misses (issue 14, the blind writer's round): a trace asked
for, a preference for a person, a fault unchanged after the steps, half a question answered, mashing among
chat filler, a request for a later case, a location never visited, a password someone else knows, an
ultimatum, contacts counted or dated, paying for poor service, sarcasm with an eye-roll. The phrasings are
written for the test in the general words of support chats, not copied from the labelled conversations, each
family beside near misses that must stay unread."""

import pytest

from backend.handoff.cues import asks_for_person, cues_of, is_garbled
from backend.handoff.features import TurnView, handoff_features


@pytest.mark.parametrize(
    "text",
    [
        "sure, open a trace please",
        "ok go ahead and start an investigation",
        "please raise a trace with the courier",
        "please have someone chase the courier",
        "let somebody resend the missing item",
        "I'd prefer an agent for this",
        "honestly I'd rather deal with a person",
        "in that case I'd prefer a real one",
    ],
)
def test_a_trace_or_a_person_asked_for_in_other_words(text: str) -> None:
    assert asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "how do I start a trace?",
        "I'll wait a bit longer rather than start a trace",
        "let's hold off before starting a trace",
        "can I open an account without a card?",
        "I'd prefer a blue one",
        "I'd rather have the larger size",
        "if my parcel goes missing later can I get a person on it then?",
    ],
)
def test_near_misses_ask_for_no_person(text: str) -> None:
    assert not asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "did what you said and it's still freezing on the login screen",
        "the page is still stuck after clearing the cache",
        "app still crashing",
        "you explained the fee but not why it was charged twice",
        "you answered the size question but not whether it's waterproof",
    ],
)
def test_a_fault_unchanged_or_half_an_answer_did_not_help(text: str) -> None:
    assert cues_of(text).not_helped


@pytest.mark.parametrize(
    "text",
    [
        "is it still shipping today?",
        "is the sale still on",
        "you told me about the warranty, thanks",
        "the screen was stuck yesterday but it's fine now",
    ],
)
def test_near_misses_are_not_an_answer_rejected(text: str) -> None:
    assert not cues_of(text).not_helped


def test_mashing_among_chat_filler_is_garbled_but_filler_alone_is_a_reply() -> None:
    assert is_garbled("kkk lol")
    assert is_garbled("ok qqq??")
    assert is_garbled("hmm xxx")
    assert not is_garbled("ok lol")
    assert not is_garbled("ok")
    assert not is_garbled("sooo good thanks")
    assert not is_garbled("ok the blue one")


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("there's a login from Brazil and I have never been there", "disowns"),
        ("my flatmate knows my password and bought things with it", "disowns"),
        ("if this isn't resolved by Monday I'll be closing my account", "threatens"),
        ("if it isn't fixed this week I'm cancelling my membership", "threatens"),
        ("this is my third call about the same parcel", "earlier_contacts"),
        ("second email I've sent about this", "earlier_contacts"),
        ("every time I ask I get a different answer", "earlier_contacts"),
        ("last week your agent told me it was sorted", "earlier_contacts"),
        ("yesterday you said the refund was approved", "earlier_contacts"),
        ("your colleague said it would be replaced", "earlier_contacts"),
        ("I can't believe we pay for this", "blames"),
        ("not what I expect for this level of service", "blames"),
        ("you keep giving me the wrong tracking number", "blames"),
        ("your website is a complete mess", "blames"),
        ("oh so helpful 🙄", "blames"),
    ],
)
def test_the_other_cues_in_their_further_usual_forms(text: str, cue: str) -> None:
    assert getattr(cues_of(text), cue)


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("I've never been there before, do you have a store in Leeds?", "disowns"),
        ("nobody knows my password but I got a reset email", "disowns"),
        ("I forgot my password, only I know my password so how do I reset it", "disowns"),
        ("if this isn't fixed by the update, is there a workaround?", "threatens"),
        ("can I change my second email address", "earlier_contacts"),
        ("your site says returns are free", "earlier_contacts"),
        ("every time the page loads it logs me out", "earlier_contacts"),
        ("I paid for express, when will it come?", "blames"),
        ("you keep the receipts for how long?", "blames"),
        ("your website is down", "blames"),
        ("so helpful, thank you!", "blames"),
    ],
)
def test_near_misses_of_the_other_cues_stay_unread(text: str, cue: str) -> None:
    assert not getattr(cues_of(text), cue)


def test_a_request_for_a_case_that_has_not_happened_is_not_one_now() -> None:
    """The guardrail hands over on a request for a person now, not on one for a later "if it goes wrong"."""
    text = "if the exchange turns out wrong later, can I get a human then?"
    later = [TurnView("return_refund", "neutral", 0.0, text)]
    now = [TurnView("return_refund", "neutral", 0.0, "the exchange went wrong, can I get a human please")]
    assert handoff_features(later)["explicit_request"] == 0
    assert handoff_features(now)["explicit_request"] == 1
