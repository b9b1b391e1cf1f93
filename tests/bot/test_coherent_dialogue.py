"""One voice per turn and the order flow's follow-ups (issue 14 "coherent dialogue"), at the actions.

The bot's offers of a person ask the backend first (the service API's person-offer route, scripted here at
the HTTP boundary as tests/bot/test_actions.py does): when its hand-off policy takes the turn over, the
customer hears the hand-over and no question; else the bot asks. A late parcel after an order answer is
looked up again without asking for the number the conversation already has.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from actions import backend_client
from actions.handoff import ActionApologizeComplaint, ActionOfferPerson, ActionSecurityConcern
from actions.orders import ValidateOrderStatusForm
from contract.service_api import HANDOFF_MESSAGE
from tests.bot.test_actions import DOMAIN

HANDED_OVER = {"handed_over": True, "case_id": 7, "message": HANDOFF_MESSAGE}
LEFT_TO_THE_BOT = {"handed_over": False, "case_id": None, "message": None}
ANGRY = {
    "text": "this is the worst shop ever",
    "intent": {"name": "complaint", "confidence": 0.93},
    "sentiment": {"label": "negative", "score": -0.81, "confidence": 0.9},
}


def offer_person(action: Any, latest: dict[str, Any] = ANGRY) -> list[dict[str, Any]]:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    events = [{"event": "user", "text": latest["text"], "parse_data": latest}]
    tracker = Tracker("conv-1", {}, latest, events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    assert asyncio.run(action.run(dispatcher, tracker, DOMAIN)) == []
    return dispatcher.messages


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The backend's answers at the HTTP boundary: `backend(answer, seen)` (None: it is down)."""

    def use(answer: dict[str, Any] | None, seen: list[dict[str, Any]]) -> None:
        def respond(request: httpx.Request) -> httpx.Response:
            seen.append({"path": request.url.path, "body": json.loads(request.content)})
            return httpx.Response(200, json=answer) if answer else httpx.Response(503, text="down")

        transport = httpx.MockTransport(respond)
        client = lambda: httpx.AsyncClient(base_url="http://backend", transport=transport)  # noqa: E731
        monkeypatch.setattr(backend_client, "_client", client)

    return use


def test_the_backend_is_given_the_turn_as_the_bot_parsed_it(backend):
    seen: list[dict[str, Any]] = []
    backend(LEFT_TO_THE_BOT, seen)
    offer_person(ActionOfferPerson())
    [call] = seen
    assert call["path"] == "/api/v1/service/conversations/conv-1/person-offer"
    body = call["body"]
    assert (body["intent"], body["text"]) == ("complaint", "this is the worst shop ever")
    assert (body["sentiment_label"], body["sentiment_score"]) == ("negative", -0.81)
    assert body["reason"].startswith("Topic: complaint")


def test_a_turn_the_backend_takes_over_says_so_and_asks_nothing(backend):
    backend(HANDED_OVER, [])
    [message] = offer_person(ActionOfferPerson())
    assert message["text"] == HANDOFF_MESSAGE and not message["buttons"]


@pytest.mark.parametrize("answer", [LEFT_TO_THE_BOT, None], ids=["left to the bot", "backend down"])
def test_otherwise_the_bot_asks_with_yes_and_no(backend, answer):
    backend(answer, [])
    [message] = offer_person(ActionOfferPerson())
    assert message["text"].startswith("Would you like me to connect you with a person")
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]


def test_a_complaint_the_backend_takes_over_keeps_the_apology_and_drops_the_question(backend):
    backend(HANDED_OVER, [])
    apology, handed = offer_person(ActionApologizeComplaint())
    assert apology["text"].startswith("I'm really sorry about your experience") and not apology["buttons"]
    assert "?" not in apology["text"]
    assert handed["text"] == HANDOFF_MESSAGE and not handed["buttons"]


def test_a_complaint_left_to_the_bot_is_one_apology_with_the_offer(backend):
    backend(LEFT_TO_THE_BOT, [])
    [message] = offer_person(ActionApologizeComplaint())
    assert message["text"].startswith("I'm really sorry about your experience")
    assert message["text"].endswith("so they can put it right?")
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]


SOMEONE_ELSE = {
    "text": "there's an order in my account I never placed, someone got in",
    "intent": {"name": "security_concern", "confidence": 0.97},
    "sentiment": {"label": "neutral", "score": -0.2, "confidence": 0.8},
}
A_WORRY = {
    "text": "how can I see which devices are signed in to my account?",
    "intent": {"name": "security_concern", "confidence": 0.71},
    "sentiment": {"label": "neutral", "score": 0.0, "confidence": 0.9},
}


def test_a_security_problem_the_backend_takes_over_is_handed_over_with_no_question(backend):
    seen: list[dict[str, Any]] = []
    backend(HANDED_OVER, seen)
    lead_in, handed = offer_person(ActionSecurityConcern(), SOMEONE_ELSE)
    assert seen[0]["body"]["intent"] == "security_concern"
    assert lead_in["text"].startswith("I'm sorry, that sounds worrying") and "?" not in lead_in["text"]
    assert handed["text"] == HANDOFF_MESSAGE and not handed["buttons"]


@pytest.mark.parametrize("answer", [LEFT_TO_THE_BOT, None], ids=["left to the bot", "backend down"])
def test_a_security_worry_left_to_the_bot_says_how_to_secure_the_account_and_offers_a_person(backend, answer):
    backend(answer, [])
    [message] = offer_person(ActionSecurityConcern(), A_WORRY)
    assert "Forgot password" in message["text"] and "Account > Orders" in message["text"]
    assert message["text"].endswith("Would you like me to connect you?")
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]


def test_a_full_queue_told_the_customer_already_so_the_bot_adds_nothing(backend):
    backend({"handed_over": True, "case_id": 7, "message": None}, [])
    assert offer_person(ActionOfferPerson()) == []


def test_the_offers_are_actions_of_the_domain_and_no_longer_responses():
    assert {"action_offer_person", "action_apologize_complaint", "action_security_concern"} <= set(
        DOMAIN["actions"]
    )
    assert not {"utter_handoff_offer", "utter_apologize_complaint", "utter_security_handoff"} & set(
        DOMAIN["responses"]
    )


# ---- the order form: a late parcel after an order answer ------------------------------------------------
LOOKED_UP = [
    {"event": "session_started"},
    {"event": "user", "text": "where is ORD-100234"},
    {"event": "action", "name": "action_lookup_order"},
]


def extract(intent: str, slots: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    latest = {"text": "it's still not here", "intent": {"name": intent}}
    tracker = Tracker("conv-1", slots, latest, events, False, None, {}, "action_listen")
    return ValidateOrderStatusForm().extract_order_id(CollectingDispatcher(), tracker, DOMAIN)


FOUND = {"order_lookup": "found", "last_order_id": "ORD-100234", "order_id": None, "requested_slot": None}


def test_a_late_parcel_after_an_order_was_found_is_that_order():
    assert extract("shipping_delay", FOUND, LOOKED_UP) == {"order_id": "ORD-100234"}


@pytest.mark.parametrize(
    ("intent", "slots", "events"),
    [
        # another question about an order may be about another one: the form asks
        ("order_status", FOUND, LOOKED_UP),
        # the last number was not found (or the look-up failed): no order to assume
        ("shipping_delay", {**FOUND, "order_lookup": "not_found"}, LOOKED_UP),
        ("shipping_delay", {**FOUND, "order_lookup": "unavailable"}, LOOKED_UP),
        # the customer named a number in this message: the entity filled the slot, and it wins
        ("shipping_delay", {**FOUND, "order_id": "ORD-100999"}, LOOKED_UP),
        # the form is already asking: the customer's reply is the number, not the old order
        ("shipping_delay", {**FOUND, "requested_slot": "order_id"}, LOOKED_UP),
        # the look-up was in an earlier session (slots carry over, the conversation did not)
        ("shipping_delay", FOUND, [*LOOKED_UP, {"event": "session_started"}]),
        ("shipping_delay", FOUND, []),
    ],
    ids=["order_status", "not found", "unavailable", "named", "asking", "old session", "never looked up"],
)
def test_otherwise_the_form_asks_for_the_number(intent, slots, events):
    assert extract(intent, slots, events) == {}
