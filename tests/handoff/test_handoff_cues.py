"""The phrases the hand-off decision reads besides the intent (backend/handoff/cues.py)."""

import pytest

from backend.handoff.cues import cues_of
from backend.handoff.features import TurnView, handoff_features
from backend.handoff.policy import RulesPolicy


@pytest.mark.parametrize(
    "text",
    [
        "ok then I'd like a human please",
        "can someone from your team change it over for me",
        "my account got hacked, please get me a real person asap",
        "just connect me",
        "who do I talk to about a refund for a parcel that never came?",
        "can somebody call me back tomorrow",
        "I want to speak to a manager",
        "si, please a person",
        "could a member of staff look at this",
        "can you pass me on to whoever deals with refunds",
        "what number can I ring to sort this out?",
        "could you have someone call me about the invoice",
        "quiero hablar con una persona",
        "necesito un agente humano por favor",
        "je voudrais parler à un conseiller",
        "un humain svp",
        "posso falar com um atendente?",
        "vorrei parlare con un operatore",
        "ich möchte mit einem Mitarbeiter sprechen",
    ],
)
def test_a_request_for_a_person_is_seen_whatever_else_the_message_says(text: str) -> None:
    assert cues_of(text).asks_for_person


@pytest.mark.parametrize(
    "text",
    [
        "am I talking to a real person or a bot?",
        "is this a real person?? or an automated thing",
        "my parcel hasn't arrived, this is really annoying",
        "someone else used my card",
        "the courier said he would call",
        "I have someone else's parcel here",
        "what number is the tracking code on the label?",
        "my sister says the hoodie runs small, is that right",
        "una persona me dijo que el pedido llegaría hoy",
    ],
)
def test_no_request_for_a_person_where_none_is_made(text: str) -> None:
    assert not cues_of(text).asks_for_person


def test_earlier_contacts_and_threats() -> None:
    assert cues_of("this is the third time I'm writing about it").earlier_contacts
    assert cues_of("you promised a call back last week and nobody called").earlier_contacts
    assert cues_of("if it's not refunded by Friday I'm disputing it").threatens
    assert cues_of("that's it, I'm done with Northwind").threatens
    assert not cues_of("can I leave a review for the kettle?").threatens
    assert not cues_of("my card was declined").threatens
    assert cues_of(None) == cues_of("")


def test_a_misparsed_request_for_a_person_still_gets_one() -> None:
    """The guardrail reads the text, so a request inside a long message is not lost to its intent."""
    turn = TurnView("return_refund", "neutral", 0.0, "ok then a real person please, it's about a gift")
    assert RulesPolicy().decide([turn]).handoff
    assert (
        not RulesPolicy().decide([TurnView("return_refund", "neutral", 0.0, "how do returns work")]).handoff
    )


def test_dissatisfied_with_cause_needs_both() -> None:
    angry = handoff_features([TurnView("complaint", "negative", -0.9, "third time I ask, useless")])
    calm = handoff_features([TurnView("complaint", "neutral", 0.0, "third time I ask, no worries")])
    assert angry["dissatisfied_with_cause"] == 1 and calm["dissatisfied_with_cause"] == 0


def test_a_second_didnt_help_counts_whatever_the_intent() -> None:
    first = TurnView("technical_problem", "neutral", 0.0, "tried that, still not working")
    second = TurnView("reset_password", "neutral", 0.0, "cleared the cache too, none of that helped")
    features = handoff_features([first, second])
    assert features["not_helpful_total"] == 2 and features["not_helpful_now"] == 1
    assert not cues_of("my parcel is still not here").not_helped


def test_a_customer_who_declines_a_person_keeps_the_bot() -> None:
    """After the bot's offer, "no, let's keep trying here" is an answer: neither policy hands over on it."""
    angry = TurnView("not_helpful", "negative", -0.9, "that did not help, useless")
    declines = TurnView("deny", "negative", -0.6, "no, lets keep trying here")
    assert RulesPolicy().decide([angry, angry]).handoff
    assert not RulesPolicy().decide([angry, declines]).handoff
    asks = TurnView("deny", "neutral", 0.0, "no, actually get me a real person")
    assert RulesPolicy().decide([angry, asks]).handoff
    assert cues_of("nah not worth getting a human for that").declines_person
    assert not cues_of("no, my parcel still isn't here").declines_person


@pytest.mark.parametrize(
    "text",
    [
        "there's a charge of $40 from you on my card and I did not order anything",
        "I got a shipping email but I haven't ordered anything in months. who placed it?",
        "that order wasn't me",
        "someone else has logged into my account",
        "I don't recognise this payment",
        "there's an invoice in there for an order I never placed",
        "someone has bought a tent with the card saved on my account",
        "the email address on my account was changed and i didnt do that",
        "I never placed either of them. I think someone else has my login",
    ],
)
def test_orders_or_charges_the_customer_did_not_make_are_a_security_concern(text: str) -> None:
    assert cues_of(text).disowns
    features = handoff_features([TurnView("billing_question", "neutral", 0.0, text)])
    assert features["disowns_in_text"] == 1.0 and features["security_intent"] == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "I didn't order the right size, can I swap it?",
        "my order hasn't arrived yet",
        "I never got a confirmation email for my order",
        "I placed an order yesterday, where is it?",
    ],
)
def test_ordinary_order_questions_are_not_disowned_orders(text: str) -> None:
    assert not cues_of(text).disowns
