"""A billing question: a charge reported as wrong ends on the offer of a person from the billing team (or the
hand-off policy's hand-over), any other billing question on how to reach that team and "anything else?"
(actions/billing.py). The backend is scripted at the HTTP boundary, as in test_one_voice_followups.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from actions import messages
from actions.billing import ActionAnswerBilling, reports_a_wrong_charge
from contract.service_api import HANDOFF_MESSAGE
from tests.bot.scripted_backend import HANDED_OVER
from tests.bot.test_actions import DOMAIN, slot_values

WRONG_CHARGES = [
    "I was charged twice",
    "you double charged me for my subscription",
    "my card was charged 2 times for one order",
    "there are two payments on my statement this month",
    "I think I was overcharged",
    "you charged me the wrong amount",
    "I was charged after I cancelled",
    "there's a $4.99 charge I don't recognise",
    "a charge I do not understand",
    "I don't recognise a payment to Northwind on my statement",
    "you took money from my account without asking",
    "I was charged for Plus but I'm on Basic",
    "you billed me for Pro though I'm still on Plus",
    "charged for the yearly plan but I downgraded last month",
    "you charged me for the wrong plan",
    "I got charged for an order I cancelled",
    "I was billed for the jacket I returned",
    "charged for something I never received",
    "why do I keep getting charged twice?",  # a question in form, a wrong charge all the same
]
QUESTIONS = [
    "when is my next charge?",
    "how do I change my payment method",
    "can I pay twice a year instead of monthly",  # "twice" without a charge: still a question (near miss)
    "how much will I be charged next month",
    "do you charge sales tax",
    "where can i see my payment history",
    "I don't understand how the yearly billing works",  # not understood, but no charge said to be wrong
    "will I be charged for the items I returned?",  # what a charge would be, not a wrong one (near miss)
    "if I cancel, will I still be charged for this month?",
    "am I billed for Plus but only on the next renewal?",
    "I'm on Basic, how much is Plus?",
    "I returned an order last week, when do I get my money?",
    "do I get charged for orders I cancelled?",
]


@pytest.mark.parametrize("text", WRONG_CHARGES)
def test_a_charge_reported_as_wrong_is_recognised(text: str):
    assert reports_a_wrong_charge(text)


@pytest.mark.parametrize("text", QUESTIONS)
def test_a_question_about_paying_is_not_a_wrong_charge(text: str):
    assert not reports_a_wrong_charge(text)


def run(text: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    latest = {"text": text, "intent": {"name": "billing_question"}}
    user = {"event": "user", "text": text, "parse_data": latest}
    tracker = Tracker("conv-1", {}, latest, [user], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ActionAnswerBilling().run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, slot_values(result)


def test_a_double_charge_gets_the_answer_and_a_yes_no_offer_of_the_billing_team(backend):
    [message], slots = run("I was charged twice for my subscription")
    assert message["text"].startswith(messages.BILLING_ANSWER) and message["text"].endswith("this chat.")
    assert "Would you like me to connect you" in message["text"]
    assert '"talk to a person"' not in message["text"]  # asked, not left to the customer to type
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]
    assert slots["billing_answer"] == "person_offered"
    assert any(path.endswith("/conv-1/person-offer") for path in backend.calls)


def test_a_double_charge_the_policy_takes_over_gets_the_answer_and_the_hand_over_only(backend):
    backend.offer = HANDED_OVER
    (answer, handed), slots = run("you charged me twice")
    assert answer["text"] == messages.BILLING_ANSWER and not answer["buttons"]
    assert handed["text"] == HANDOFF_MESSAGE
    assert slots["billing_answer"] == "person_offered"


def test_any_other_billing_question_gets_the_answer_and_how_to_reach_the_billing_team(backend):
    [message], slots = run("when is my next payment?")
    assert message["text"] == f"{messages.BILLING_ANSWER} {messages.BILLING_PERSON_IF_WRONG}"
    assert not message["buttons"]
    assert slots["billing_answer"] == "answered"
    assert backend.calls == []  # no offer, so the policy is not asked here (the hub decides after the turn)
