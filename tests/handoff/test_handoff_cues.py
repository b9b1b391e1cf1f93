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


# The cues widened from general support language (2026-12-05, issue 14): each list pairs the usual ways of
# saying it with near misses that must stay unread, since a request for a person always hands over.


@pytest.mark.parametrize(
    "text",
    [
        "is there anyone I can talk to?",
        "can I get an agent",
        "customer service please",
        "please escalate this to a supervisor",
        "have someone look into it please",
        "get somebody to check it",
        "let a person handle it",
        "please hand this over to a person",
        "pass this on to your team",
        "how can I reach a human",
        "is there a phone number I can call?",
        "put me on to someone who can help",
        "can i tlak to a real persn",
        "i want to speak to a huamn",
        "agent",
        "customer service representative",
        "quiero hablar with someone real",
        "can I talk to an atendente please",
    ],
)
def test_a_request_for_a_person_in_its_usual_forms(text: str) -> None:
    assert cues_of(text).asks_for_person


@pytest.mark.parametrize(
    "text",
    [
        "no, I don't need a person",
        "I never asked for an agent",
        "hey there, hope someone can help",
        "is this an actual human?",
        "are you a real person",
        "real person or bot?",
        "is there a human reading this",
        "can a human read this chat later?",
        "can someone else collect the parcel for me?",
        "please escalate the delivery priority if that's possible on pro",
        "is there a human size chart",
        "is there anyone home needed for delivery",
        "the delivery person left it at the door",
        "please hand the parcel to my neighbour",
        "what's the phone number on my account",
        "I need to change the phone number on my account",
        "can I get express shipping?",
        "my manager asked me for an invoice",
        "I want to peak at the tracking",
        "how do I manage my plan",
    ],
)
def test_near_misses_are_not_a_request_for_a_person(text: str) -> None:
    assert not cues_of(text).asks_for_person


@pytest.mark.parametrize(
    "text",
    [
        "I already told you, it's not there",
        "you told me that already",
        "you keep saying the same thing",
        "we're going round in circles",
        "that's not my question",
        "you don't understand",
        "no, that's wrong",
        "I already tried that",
        "that made no difference",
        "still doesn't tell me when it will arrive",
    ],
)
def test_an_answer_rejected_in_its_usual_forms(text: str) -> None:
    assert cues_of(text).not_helped


@pytest.mark.parametrize(
    "text",
    [
        "still waiting for my parcel",
        "the tracking says the same thing as yesterday",
        "that answered my question, thanks",
        "I told my wife it would come today",
        "it didn't arrive",
    ],
)
def test_a_problem_report_or_thanks_is_not_an_answer_rejected(text: str) -> None:
    assert not cues_of(text).not_helped


@pytest.mark.parametrize(
    "text",
    [
        "terrible customer service",
        "this is unacceptable",
        "what a waste of my time",
        "fed up with you lot",
        "is this how you treat your customers?",
        "sorry isn't good enough",
        "your promises mean nothing",
        "do you even know what you're doing?",
        "oh great, late again. fantastic service",
        "let me guess, still not shipped?",
    ],
)
def test_blame_in_its_usual_forms_and_sarcasm(text: str) -> None:
    assert cues_of(text).blames


@pytest.mark.parametrize(
    "text",
    [
        "great service, thank you!",
        "oh great, it arrived, thanks!",
        "the courier was terrible",
        "this damn zip won't close",
        "how hard is it to set up the tent?",
    ],
)
def test_praise_or_a_reported_problem_is_not_blame(text: str) -> None:
    assert not cues_of(text).blames


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("I'll ask my bank to reverse the payment", "threatens"),
        ("I'll file a formal complaint", "threatens"),
        ("I'll take my business elsewhere", "threatens"),
        ("this is the last time I order from you", "threatens"),
        ("my account was hacked", "disowns"),
        ("there's an unauthorised charge on my card", "disowns"),
        ("somebody placed an order on my account", "disowns"),
        ("the email was changed to one I've never seen", "disowns"),
        ("an unknown device signed in", "disowns"),
    ],
)
def test_threats_and_someone_else_in_the_account_in_their_usual_forms(text: str, cue: str) -> None:
    assert getattr(cues_of(text), cue)


@pytest.mark.parametrize(
    "text",
    [
        "my bank says the payment went through",
        "the last time I ordered it came in two days",
        "how do I stop my account getting hacked?",
        "someone made a mistake with my order",
        "I changed my email last week",
        "can I see which devices are logged in?",
    ],
)
def test_near_misses_are_neither_threats_nor_someone_else_in_the_account(text: str) -> None:
    cues = cues_of(text)
    assert not cues.threatens and not cues.disowns


def test_keeping_the_problem_oneself_declines_a_person() -> None:
    assert cues_of("no, I'd rather fix it myself if possible").declines_person
    assert cues_of("thanks, I'll sort it out myself").declines_person
    assert not cues_of("can you fix it for me").declines_person
