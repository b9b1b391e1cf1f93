"""The order form's validation and the order look-up."""

import logging
from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend_client, messages
from actions.handoff import offer_or_hand_over
from actions.order_ids import normalize_order_id

logger = logging.getLogger(__name__)


def first_order_id(slot_value: Any) -> str | None:
    """The first valid order number in a slot value.

    The value is a string, or a list when two extractors (regex and CRF) found the same entity.
    """
    values = slot_value if isinstance(slot_value, list) else [slot_value]
    for value in values:
        if isinstance(value, str) and (order_id := normalize_order_id(value)):
            return order_id
    return None


SHIPPING_DELAY = "shipping_delay"
LOOKUP_ORDER = "action_lookup_order"
# Outcomes of a look-up that found the order: its answer (FOUND), or one that ends on an offer of a person.
# PERSON_OFFERED: the reply ended on a yes/no offer of a person (a parcel still missing, or late enough for a
# reship or refund), so the rules wait for the answer instead of asking "anything else?".
FOUND, PERSON_OFFERED = "found", "person_offered"
RECENT_ORDERS_SHOWN = 3


class ActionAskOrderId(Action):
    """The order form's question for the number. A signed-in shopper also gets their latest orders as buttons,
    since the shop knows them; a visitor, or a backend that cannot say, gets the question alone."""

    def name(self) -> str:
        return "action_ask_order_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            recent = (await backend_client.recent_orders(tracker.sender_id, RECENT_ORDERS_SHOWN)).orders
        except backend_client.BackendError as error:
            logger.warning("latest orders for %s failed: %s", tracker.sender_id, error)
            recent = ()
        if recent:
            buttons = [messages.recent_order_button(order) for order in recent]
            dispatcher.utter_message(text=messages.ASK_ORDER_ID_OR_PICK, buttons=buttons)
        else:
            dispatcher.utter_message(response="utter_ask_order_id")
        return []


class ValidateOrderStatusForm(FormValidationAction):
    """Turns whatever the customer typed into "ORD-123456", or explains what an order number looks like."""

    def name(self) -> str:
        return "validate_order_status_form"

    def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """At the form's start, the order just found, when the customer says it is late or missing.

        "It's still not here" after the bot told them where order ORD-123456 is means that order: asking
        for its number made them repeat what the bot had just said (issue 14). Only then: a new question
        about an order ("and my other order?") may well be about another one, so the form asks; a number the
        customer gives fills the slot from the entity before this runs, and wins. Slots outlive a session
        (bot/domain.yml), so an order looked up in an earlier session is not assumed.
        """
        starting = tracker.get_slot("requested_slot") is None and tracker.get_slot("order_id") is None
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        answered = tracker.get_slot("order_lookup") in (FOUND, PERSON_OFFERED)
        found = answered and _looked_up_this_session(tracker)
        if not starting or intent != SHIPPING_DELAY or not found:
            return {}
        order_id = first_order_id(tracker.get_slot("last_order_id"))
        return {"order_id": order_id} if order_id else {}

    def validate_order_id(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        order_id = first_order_id(slot_value)
        if order_id is not None:
            return {"order_id": order_id}
        # Setting None keeps the form asking (utter_ask_order_id follows this message); the button and the
        # "say no" hint make sure a customer without the number is never stuck in the question.
        gave_email = isinstance(slot_value, str) and "@" in slot_value
        text = messages.INVALID_ORDER_ID_EMAIL if gave_email else messages.INVALID_ORDER_ID
        dispatcher.utter_message(text=text, buttons=[messages.TALK_TO_A_PERSON])
        return {"order_id": None}


def _looked_up_this_session(tracker: Tracker) -> bool:
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            return False
        if event.get("event") == "action" and event.get("name") == LOOKUP_ORDER:
            return True
    return False


class ActionLookupOrder(Action):
    """Tells the customer where the order in slot `order_id` is; the rules branch on slot `order_lookup`.

    Both order_status and shipping_delay end here, with nothing said before the look-up: the reply for a
    found order comes from messages.order_reply (messages.still_missing_reply when the customer says the
    order just answered about has still not arrived), the not-found and unreachable replies from the rules.
    """

    def name(self) -> str:
        return LOOKUP_ORDER

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        order_id = first_order_id(tracker.get_slot("order_id"))
        if order_id is None:
            # The form only completes with a valid number, so this means the action ran out of turn.
            logger.warning("action_lookup_order without an order number in %s", tracker.sender_id)
            return _outcome("not_found", "that number")
        try:
            order = await backend_client.get_order(order_id, tracker.sender_id)
        except backend_client.BackendError:
            logger.warning("order look-up of %s failed", order_id, exc_info=True)
            return _outcome("unavailable", order_id)
        if order is None:
            return _outcome("not_found", order_id)
        # The only message of the order flow before "anything else?" or its offer: worded from the order's
        # status, so nothing said in this turn can contradict what the backend returned.
        today = date.today()
        if _still_missing(tracker, order_id):
            reply: messages.OrderReply | messages.PersonOffer = messages.still_missing_reply(order, today)
        else:
            reply = messages.order_reply(order, today)
        if isinstance(reply, messages.PersonOffer):
            # A question, not "anything else?": the rules branch on PERSON_OFFERED for its yes and no.
            await offer_or_hand_over(dispatcher, tracker, reply.facts, reply.text, reply.buttons)
            return _outcome(PERSON_OFFERED, order_id)
        dispatcher.utter_message(text=reply.text, buttons=list(reply.buttons))
        return _outcome(FOUND, order_id)


def _still_missing(tracker: Tracker, order_id: str) -> bool:
    """The customer says the order the bot has just answered about (this session) has still not arrived."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    answered = tracker.get_slot("order_lookup") in (FOUND, PERSON_OFFERED)
    same_order = first_order_id(tracker.get_slot("last_order_id")) == order_id
    return intent == SHIPPING_DELAY and answered and same_order and _looked_up_this_session(tracker)


def _outcome(result: str, order_id: str) -> list[EventType]:
    # order_id is cleared so that asking about an order again ("Try another order") asks for the number
    # instead of repeating this look-up; last_order_id keeps it for the not-found message and the handoff.
    return [
        SlotSet("order_lookup", result),
        SlotSet("last_order_id", order_id),
        SlotSet("order_id", None),
    ]
