"""Issue 14's leftovers at the actions: the cancellation info and the "order system unreachable" reply ask
the backend before offering a person, as the other offers do, and a parcel the customer says is still not
here after an order answer gets the late-parcel advice and an offer of a trace, not the same answer again.

The backend is scripted at the HTTP boundary (GET the order, POST the person-offer check), as in
tests/bot/test_coherent_dialogue.py.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest

from actions import messages
from actions.fallback import ActionInformAck, ActionOutOfScope
from actions.handoff import ActionCancelInfo, ActionOrderLookupFailed
from actions.orders import ActionLookupOrder
from contract.service_api import HANDOFF_MESSAGE
from tests.bot.scripted_backend import HANDED_OVER, LEFT_TO_THE_BOT, Backend
from tests.bot.test_actions import DOMAIN, order, slot_values

# The wording these replies had as domain responses: kept whenever the bot asks.
CANCEL_INFO = (
    "You can cancel any time under Account > Subscription > Cancel. Monthly plans stay active until the end "
    "of the month you've paid for, and yearly plans can be refunded pro rata within the first 30 days. Your "
    "order history and invoices stay available, and you can come back whenever you like. Before you go, "
    "would you like to talk to someone from our team? They can also tell you about options such as moving to "
    "a cheaper plan."
)
LOOKUP_FAILED = (
    "Sorry, I can't reach our order system right now. You can see your order status under Account > Orders, "
    "or I can pass this to a person from our team. Would you like that?"
)


def run(action: Any, intent: str, slots: dict[str, Any], events: list[dict[str, Any]]) -> Any:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    latest = {"text": "it's still not here!", "intent": {"name": intent}}
    user = {"event": "user", "text": latest["text"], "parse_data": latest}
    tracker = Tracker("conv-1", slots, latest, [*events, user], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, slot_values(result)


# ---- 1. the cancellation info and "order system unreachable" ask the backend first ------------------------
OFFERS = [(ActionCancelInfo(), CANCEL_INFO), (ActionOrderLookupFailed(), LOOKUP_FAILED)]
OFFER_IDS = ["cancel info", "order system unreachable"]


@pytest.mark.parametrize(("action", "wording"), OFFERS, ids=OFFER_IDS)
@pytest.mark.parametrize("answer", [LEFT_TO_THE_BOT, None], ids=["left to the bot", "backend down"])
def test_left_to_the_bot_the_reply_and_its_question_are_worded_as_before(backend, action, wording, answer):
    backend.offer = answer
    [message], _ = run(action, "cancel_subscription", {}, [])
    assert message["text"] == wording
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]
    assert any(path.endswith("/conv-1/person-offer") for path in backend.calls)


@pytest.mark.parametrize(("action", "wording"), OFFERS, ids=OFFER_IDS)
def test_a_turn_the_backend_takes_over_keeps_the_information_and_drops_the_question(backend, action, wording):
    backend.offer = HANDED_OVER
    (info, handed), _ = run(action, "cancel_subscription", {}, [])
    assert wording.startswith(info["text"].rstrip(".")) and "?" not in info["text"] and not info["buttons"]
    assert "person" not in info["text"]  # "or I can pass this to a person" is moot once one is coming
    assert handed == {**handed, "text": HANDOFF_MESSAGE, "buttons": []}


def test_the_replies_are_actions_of_the_domain_and_no_longer_responses():
    replies = ("cancel_info", "order_lookup_failed", "out_of_scope", "inform_ack")
    assert {f"action_{name}" for name in replies} <= set(DOMAIN["actions"])
    assert not {f"utter_{name}" for name in replies} & set(DOMAIN["responses"])


# ---- 2. asked again to cancel after the information: a person (the policy's), else the steps in a line ----
CANCEL_INFO_GIVEN = [{"event": "action", "name": "action_cancel_info"}]
CANCEL_AGAIN = (
    "To cancel, open Account > Subscription > Cancel: it takes a minute, and your plan stays active until "
    "the end of the period you've paid for. If you'd rather someone from our team did it for you, I can pass "
    "you to a person. Would you like that?"
)


def test_a_second_request_to_cancel_gets_the_steps_in_a_line_and_a_person_offered_to_do_it(backend):
    [message], _ = run(ActionCancelInfo(), "cancel_subscription", {}, CANCEL_INFO_GIVEN)
    assert message["text"] == CANCEL_AGAIN
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]
    assert any(path.endswith("/conv-1/person-offer") for path in backend.calls)


def test_a_second_request_the_backend_takes_over_says_a_person_will_cancel_it_and_asks_nothing(backend):
    backend.offer = HANDED_OVER
    (said, handed), _ = run(ActionCancelInfo(), "cancel_subscription", {}, CANCEL_INFO_GIVEN)
    assert said["text"] == "Of course. A person from our team will cancel it for you." and not said["buttons"]
    assert "Account > Subscription" not in said["text"]  # no steps to do it yourself beside a person doing it
    assert handed["text"] == HANDOFF_MESSAGE


# ---- 2b. out of scope: what the bot can help with, or the hand-over alone ----------------------------------
@pytest.mark.parametrize("answer", [LEFT_TO_THE_BOT, None], ids=["left to the bot", "backend down"])
def test_out_of_scope_says_what_the_bot_can_help_with_when_the_bot_keeps_the_turn(backend, answer):
    backend.offer = answer
    [message], _ = run(ActionOutOfScope(), "out_of_scope", {}, [])
    assert message["text"].startswith("Sorry, that's outside what I can help with.")
    assert any(path.endswith("/conv-1/person-offer") for path in backend.calls)


def test_out_of_scope_the_backend_takes_over_is_the_hand_over_alone(backend):
    backend.offer = HANDED_OVER
    [message], _ = run(ActionOutOfScope(), "out_of_scope", {}, [])
    assert message["text"] == HANDOFF_MESSAGE


@pytest.mark.parametrize("answer", [LEFT_TO_THE_BOT, None], ids=["left to the bot", "backend down"])
def test_a_detail_out_of_context_asks_what_to_do_with_it_when_the_bot_keeps_the_turn(backend, answer):
    backend.offer = answer
    [message], _ = run(ActionInformAck(), "inform", {}, [])
    assert message["text"] == messages.INFORM_ACK
    assert any(path.endswith("/conv-1/person-offer") for path in backend.calls)


def test_a_detail_out_of_context_the_backend_takes_over_is_the_hand_over_alone(backend):
    backend.offer = HANDED_OVER
    [message], _ = run(ActionInformAck(), "inform", {}, [])
    assert message["text"] == HANDOFF_MESSAGE


# ---- 3. "it's still not here" after an order answer ------------------------------------------------------
LOOKED_UP = [
    {"event": "session_started"},
    {"event": "user", "text": "where is ORD-100234", "parse_data": {"intent": {"name": "order_status"}}},
    {"event": "action", "name": "action_lookup_order"},
]
AGAIN = {"order_id": "ORD-100234", "last_order_id": "ORD-100234", "order_lookup": "found"}


def still_missing(backend: Backend, status: str, eta_days: int | None) -> tuple[list[dict[str, Any]], Any]:
    backend.order = order(status, eta_days)
    return run(ActionLookupOrder(), "shipping_delay", AGAIN, LOOKED_UP)


def _yes_no(message: dict[str, Any]) -> list[str]:
    return [b["payload"] for b in message["buttons"]]


def test_a_delivered_order_still_not_here_is_delivered_but_not_received(backend):
    [message], slots = still_missing(backend, "delivered", -2)
    text = message["text"]
    assert "delivered but not received" in text and "UPS" in text
    assert "on its way" not in text and "running late" not in text  # the facts say delivered
    assert "trace" in text and text.endswith("?") and _yes_no(message) == ["/affirm", "/deny"]
    assert slots["order_lookup"] == "person_offered"


@pytest.mark.parametrize("status", ["shipped", "delayed"])
def test_a_late_parcel_still_not_here_gets_the_late_parcel_advice_and_a_trace(backend, status):
    [message], slots = still_missing(backend, status, -2)
    text = message["text"]
    assert "Most late parcels arrive within two business days of the estimated date" in text
    assert "exception" in text  # the KB's advice on the tracking status
    assert "more than 5 business days" in text and "trace" in text
    assert "has been delivered" not in text and _yes_no(message) == ["/affirm", "/deny"]
    assert slots["order_lookup"] == "person_offered"


def test_a_parcel_not_yet_due_is_said_to_be_not_yet_late(backend):
    [message], _ = still_missing(backend, "shipped", 3)
    due = date.today() + timedelta(days=3)
    assert f"{due:%B} {due.day}" in message["text"] and "isn't due until" in message["text"]
    assert "running late" not in message["text"] and _yes_no(message) == ["/affirm", "/deny"]


def test_an_order_not_shipped_yet_offers_a_person_not_a_trace(backend):
    [message], _ = still_missing(backend, "processing", -1)
    assert "hasn't shipped yet" in message["text"] and "trace" not in message["text"]
    assert _yes_no(message) == ["/affirm", "/deny"]


def test_the_follow_up_is_not_the_same_answer_again(backend):
    backend.order = order("shipped", -2)
    [first], _ = run(ActionLookupOrder(), "order_status", {"order_id": "ORD-100234"}, [])
    [again], _ = still_missing(backend, "shipped", -2)
    assert first["text"] != again["text"]


def test_a_parcel_late_enough_for_a_reship_asks_whether_a_person_should_arrange_it(backend):
    backend.order = order("shipped", -10)
    [message], slots = run(ActionLookupOrder(), "order_status", {"order_id": "ORD-100234"}, [])
    assert "reship it for free or refund you in full" in message["text"]
    assert message["text"].endswith("?") and _yes_no(message) == ["/affirm", "/deny"]
    assert slots["order_lookup"] == "person_offered"


def test_a_late_parcel_the_backend_takes_over_keeps_the_facts_and_drops_the_question(backend):
    backend.offer = HANDED_OVER
    backend.order = order("shipped", -10)
    (facts, handed), slots = run(ActionLookupOrder(), "shipping_delay", {"order_id": "ORD-100234"}, [])
    assert "reship it for free" in facts["text"] and "?" not in facts["text"] and not facts["buttons"]
    assert handed["text"] == HANDOFF_MESSAGE and slots["order_lookup"] == "person_offered"


def test_a_follow_up_the_backend_takes_over_keeps_the_facts_and_drops_the_question(backend):
    backend.offer = HANDED_OVER
    (facts, handed), slots = still_missing(backend, "delivered", -2)
    assert "delivered but not received" in facts["text"] and "?" not in facts["text"]
    assert not facts["buttons"] and handed["text"] == HANDOFF_MESSAGE
    assert slots["order_lookup"] == "person_offered"


@pytest.mark.parametrize(
    ("intent", "slots", "events"),
    [
        ("order_status", AGAIN, LOOKED_UP),  # asking where it is again: the order's answer
        ("shipping_delay", AGAIN, []),  # no answer given yet in this session: the first answer
        ("shipping_delay", {**AGAIN, "last_order_id": "ORD-100999"}, LOOKED_UP),  # another order
    ],
    ids=["order_status", "first look-up", "another order"],
)
def test_otherwise_the_order_gets_its_usual_answer(backend, intent, slots, events):
    backend.order = order("delivered", -2)
    [message], result = run(ActionLookupOrder(), intent, slots, events)
    assert message["text"].startswith("Order ORD-100234 has been delivered")
    assert result["order_lookup"] == "found"
    assert not any(path.endswith("/person-offer") for path in backend.calls)
