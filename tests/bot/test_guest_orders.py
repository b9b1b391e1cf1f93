"""An anonymous visitor's order look-up at the actions (README "Security"): the backend, scripted at the HTTP
boundary, withholds the order until the visitor gives the email address it was placed with; the order form
asks for it (and only then), reads it from the reply, and the look-up sends it in a header, never in the URL,
and clears it from the slots once used."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from actions import backend_client, messages
from actions.orders import ActionLookupOrder, ValidateOrderStatusForm
from contract.service_api import (
    HANDOFF_MESSAGE,
    ORDER_EMAIL_HEADER,
    ORDER_EMAIL_NEEDED,
    ORDER_LOOKUPS_REFUSED,
    Withheld,
)
from tests.bot.test_actions import DOMAIN, order, slot_values

Handler = Callable[[httpx.Request], httpx.Response]
EMAIL_NEEDED = httpx.Response(403, json={"detail": ORDER_EMAIL_NEEDED})
REFUSED = httpx.Response(429, json={"detail": ORDER_LOOKUPS_REFUSED})
NO_ORDER = httpx.Response(404, json={"detail": "no order ORD-100234"})
LEFT_TO_THE_BOT = {"handed_over": False, "case_id": None, "message": None}


def tracker(slots: dict[str, Any], events: list[dict[str, Any]] | None = None, text: str = "") -> Any:
    from rasa_sdk import Tracker

    latest = {"text": text, "intent": {"name": "inform"}}
    return Tracker("conv-1", slots, latest, events or [], False, None, {}, "action_listen")


def look_up(seen: Callable[[Handler], list[httpx.Request]], answer: Handler, **slots: Any) -> tuple:
    """action_lookup_order on `slots`: (what it said, the slots it set, the requests it made)."""
    from rasa_sdk.executor import CollectingDispatcher

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/person-offer"):
            return httpx.Response(200, json=LEFT_TO_THE_BOT)
        return answer(request)

    requests = seen(respond)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionLookupOrder().run(dispatcher, tracker(slots), DOMAIN))
    return dispatcher.messages, slot_values(events), requests


# ---- the client: the address in a header only, the withholding answers read exactly -----------------------


def test_the_email_goes_in_a_header_never_in_the_url(seen):
    requests = seen(lambda r: httpx.Response(200, json=order("shipped")))
    found = asyncio.run(backend_client.get_order("ORD-100234", "conv-1", "Jane.Doe@example.com"))
    assert found is not None and not isinstance(found, Withheld)
    [request] = requests
    assert request.headers[ORDER_EMAIL_HEADER] == "Jane.Doe@example.com"
    assert "example.com" not in str(request.url) and "Jane" not in str(request.url)
    asyncio.run(backend_client.get_order("ORD-100234", "conv-1"))
    assert ORDER_EMAIL_HEADER not in requests[-1].headers  # none given, none sent
    asyncio.run(backend_client.get_order("ORD-100234", "conv-1", " jane@example.com\t"))
    assert requests[-1].headers[ORDER_EMAIL_HEADER] == "jane@example.com"  # h11 refuses spaces around it


def test_an_address_no_header_can_carry_is_refused_without_quoting_it(seen):
    requests = seen(lambda r: httpx.Response(200, json=order("shipped")))
    for bad in ("jöhn@exämple.de", "jane doe@example.com", "jane@example.com\r\nX-Other: 1"):
        with pytest.raises(ValueError) as refused:
            asyncio.run(backend_client.get_order("ORD-100234", "conv-1", bad))
        assert "example" not in str(refused.value)
    assert requests == []


@pytest.mark.parametrize(
    ("answer", "read_as"),
    [
        (EMAIL_NEEDED, Withheld.EMAIL_NEEDED),
        (REFUSED, Withheld.REFUSED),
        (NO_ORDER, None),
    ],
)
def test_the_withholding_answers_are_read_as_such(seen, answer, read_as):
    seen(lambda r: answer)
    assert asyncio.run(backend_client.get_order("ORD-100234", "conv-1")) is read_as


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(403, json={"detail": "this token belongs to another conversation"}),
        httpx.Response(429, json={"detail": "too many requests"}, headers={"Retry-After": "3"}),
        httpx.Response(403, text="forbidden"),
    ],
)
def test_any_other_403_or_429_is_a_failure(seen, answer):
    seen(lambda r: answer)
    with pytest.raises(backend_client.BackendError):
        asyncio.run(backend_client.get_order("ORD-100234", "conv-1"))


# ---- the look-up -------------------------------------------------------------------------------------------


def test_a_visitor_is_told_why_and_the_form_is_to_ask_for_the_email(seen):
    said, slots, _ = look_up(seen, lambda r: EMAIL_NEEDED, order_id="ORD-100234")
    assert slots == {"order_lookup": "email_needed", "last_order_id": "ORD-100234", "order_id": None}
    [reason] = said
    assert reason["text"] == messages.order_email_needed("ORD-100234")
    assert "shipped" not in reason["text"] and "UPS" not in reason["text"]


def test_the_email_given_looks_up_the_number_it_was_asked_for_and_leaves_the_slots(seen):
    said, slots, requests = look_up(
        seen,
        lambda r: httpx.Response(200, json=order("shipped")),
        order_id=None,
        last_order_id="ORD-100234",
        order_email="jane.doe@example.com",
        order_lookup="email_needed",
    )
    [request] = requests
    assert request.url.path == "/api/v1/service/orders/ORD-100234"
    assert request.headers[ORDER_EMAIL_HEADER] == "jane.doe@example.com"
    assert slots == {
        "order_lookup": "found",
        "last_order_id": "ORD-100234",
        "order_id": None,
        "order_email": None,  # used once, then gone
        "email": None,  # the NLU's email slot, filled from the same message
    }
    [answer] = said
    assert "Good news: order ORD-100234 is on its way with UPS" in answer["text"]


def test_a_number_typed_instead_is_looked_up_with_the_email(seen):
    _, _, requests = look_up(
        seen,
        lambda r: httpx.Response(200, json=order("shipped", order_id="ORD-100250")),
        order_id="ord100250",
        last_order_id="ORD-100234",
        order_email="jane.doe@example.com",
    )
    assert requests[0].url.path == "/api/v1/service/orders/ORD-100250"


def test_an_email_that_matches_no_order_is_asked_for_again(seen):
    said, slots, _ = look_up(
        seen, lambda r: NO_ORDER, last_order_id="ORD-100234", order_email="wrong@example.org"
    )
    assert slots["order_lookup"] == "email_mismatch" and slots["last_order_id"] == "ORD-100234"
    assert slots["order_email"] is None and slots["email"] is None
    [mismatch] = said
    assert mismatch["text"] == messages.order_email_mismatch("ORD-100234")


def test_without_an_email_no_order_is_still_the_rules_not_found(seen):
    said, slots, _ = look_up(seen, lambda r: NO_ORDER, order_id="ORD-100234")
    assert said == [] and slots["order_lookup"] == "not_found"


def test_no_more_look_ups_ends_on_the_offer_of_a_person(seen):
    said, slots, _ = look_up(seen, lambda r: REFUSED, last_order_id="ORD-100234", order_email="c@example.org")
    assert slots["order_lookup"] == "refused" and slots["order_email"] is None
    [offer] = said
    assert offer["text"] == messages.ORDER_LOOKUPS_REFUSED_OFFER
    assert offer["buttons"] == list(messages.YES_PLEASE_OR_NO_THANKS)


def test_when_the_policy_takes_the_refusal_over_the_visitor_hears_the_hand_over_alone(seen):
    from rasa_sdk.executor import CollectingDispatcher

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/person-offer"):
            return httpx.Response(200, json={"handed_over": True, "case_id": 3, "message": HANDOFF_MESSAGE})
        return REFUSED

    seen(respond)
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionLookupOrder().run(dispatcher, tracker({"order_id": "ORD-100234"}), DOMAIN))
    assert [m["text"] for m in dispatcher.messages] == [messages.ORDER_LOOKUPS_REFUSED, HANDOFF_MESSAGE]


# ---- the form: the email asked for only when the backend wants it, read from the reply -------------------

USER = {"event": "user", "text": "where is my order?", "parse_data": {"intent": {"name": "order_status"}}}
LOOKED_UP = {"event": "action", "name": "action_lookup_order"}
FORM = {"event": "action", "name": "order_status_form"}  # the form's run, as Rasa shows it to the validation


def required(slots: dict[str, Any], events: list[dict[str, Any]]) -> list[str]:
    from rasa_sdk.executor import CollectingDispatcher

    form = ValidateOrderStatusForm()
    domain_slots = form.domain_slots(DOMAIN)
    assert domain_slots == ["order_id", "order_email"]
    asking = form.required_slots(domain_slots, CollectingDispatcher(), tracker(slots, events), DOMAIN)
    return asyncio.run(asking)


@pytest.mark.parametrize(
    ("slots", "events", "asked"),
    [
        ({}, [USER, FORM], ["order_id"]),  # anyone's order question: the number
        ({"order_lookup": "found"}, [USER, LOOKED_UP, FORM], ["order_id"]),
        # the backend asked for the email: the form starts again right after the look-up to ask for it
        ({"order_lookup": "email_needed"}, [USER, LOOKED_UP, FORM], ["order_email"]),
        ({"order_lookup": "email_mismatch"}, [USER, LOOKED_UP, FORM], ["order_email"]),
        # ... and keeps asking for it, also after a question in between was answered
        ({"order_lookup": "email_needed", "requested_slot": "order_email"}, [USER, FORM], ["order_email"]),
        # the visitor left the form without giving it: a later order question starts with the number again
        ({"order_lookup": "email_needed"}, [USER, FORM], ["order_id"]),
    ],
)
def test_the_form_asks_for_the_email_only_when_the_backend_wanted_it(slots, events, asked):
    assert required(slots, events) == asked


def validate_email(text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    slots = ValidateOrderStatusForm().validate_order_email(text, dispatcher, tracker({}), DOMAIN)
    return slots, dispatcher.messages


@pytest.mark.parametrize(
    ("reply", "email"),
    [
        ("jane.doe@example.com", "jane.doe@example.com"),
        ("it's Jane.Doe@Example.com I think", "Jane.Doe@Example.com"),
        ("my email is j_smith+orders@mail.example.co.uk.", "j_smith+orders@mail.example.co.uk"),
    ],
)
def test_the_address_is_read_from_the_reply(reply, email):
    slots, said = validate_email(reply)
    assert slots == {"order_email": email} and said == []


def test_a_reply_without_an_address_says_what_one_looks_like_and_is_asked_again():
    for reply in ("jane at example dot com", "jane@example", "the usual one", "jöhn@exämple.de"):
        slots, [said] = validate_email(reply)
        assert slots == {"order_email": None}, reply
        assert said["text"] == messages.INVALID_ORDER_EMAIL and said["buttons"] == [messages.TALK_TO_A_PERSON]


def test_another_order_number_instead_of_the_address_is_taken_and_its_email_asked_for():
    assert validate_email("sorry, it's ORD-100250") == ({"order_email": None, "order_id": "ORD-100250"}, [])
    slots, _ = validate_email("ORD-100250 and jane@example.com")
    assert slots == {"order_email": "jane@example.com", "order_id": "ORD-100250"}
    assert validate_email("ord100250@example.com")[0] == {"order_email": "ord100250@example.com"}


def test_every_new_outcome_is_a_value_of_the_slot_the_rules_branch_on():
    values = DOMAIN["slots"]["order_lookup"]["values"]
    assert {"email_needed", "email_mismatch", "refused"} <= set(values)
    mapping = DOMAIN["slots"]["order_email"]["mappings"][0]
    assert mapping["conditions"] == [{"active_loop": "order_status_form", "requested_slot": "order_email"}]
    # A change of subject (a question, a complaint, a person) is not taken as the address.
    assert not {"request_human", "complaint", "pricing", "deny"} & set(mapping["intent"])
