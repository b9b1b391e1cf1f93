"""The order form's validation and the order look-up."""

import logging
import re
from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend_client, messages
from actions.handoff import hand_over_if_the_policy_takes_it, offer_or_hand_over
from actions.order_ids import normalize_order_id
from contract.service_api import Withheld

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
ORDER_FORM = "order_status_form"
# Outcomes of a look-up that found the order: its answer (FOUND), or one that ends on an offer of a person.
# PERSON_OFFERED: the reply ended on a yes/no offer of a person (a parcel still missing, or late enough for a
# reship or refund), so the rules wait for the answer instead of asking "anything else?".
FOUND, PERSON_OFFERED = "found", "person_offered"
# Outcomes of an anonymous visitor's look-up (README "Security"). EMAIL_NEEDED and EMAIL_MISMATCH: the rules
# start the form again, which then asks for the email on the order (ORDER_EMAIL); REFUSED: too many wrong
# addresses in this conversation, the reply ends on the offer of a person.
EMAIL_NEEDED, EMAIL_MISMATCH, REFUSED = "email_needed", "email_mismatch", "refused"
ORDER_EMAIL = "order_email"
# The address as the NLU's email entity reads it (bot/data/nlu/entities.yml), not inside a longer word.
_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?![\w-])")
RECENT_ORDERS_SHOWN = 3


class ActionAskOrderId(Action):
    """The order form's question for the number. A signed-in shopper also gets their latest orders as buttons,
    since the shop knows them; a visitor, or a backend that cannot say, gets the question alone. When the
    backend's hand-off policy takes the turn ("where is my order, third time I write"), the customer hears the
    hand-over alone, not a question left above "I'm connecting you". The form stays as it is (ending it here
    would run its completion rules, a look-up of no order); the customer's next messages go to the team."""

    def name(self) -> str:
        return "action_ask_order_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if await hand_over_if_the_policy_takes_it(dispatcher, tracker):
            return []
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

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """The number, or, when the backend asked for it, the email on the order (its number is then in
        last_order_id). The domain lists both, so that the email's slot mapping may name the form; never the
        domain's list as it stands, so the form always asks for the slot chosen here."""
        if _asks_for_email(tracker):
            return [ORDER_EMAIL]
        return [slot for slot in domain_slots if slot != ORDER_EMAIL]

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

    def validate_order_email(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """The address in the reply (the slot takes the whole text); another order number typed instead is
        that order, and the form asks for its email. Else what an address looks like, and the question again
        (utter_ask_order_email follows this message)."""
        text = slot_value if isinstance(slot_value, str) else ""
        email = find_email(text)
        # The address taken out first: "ord100234@example.com" names no order.
        order_id = normalize_order_id(text.replace(email, " ") if email else text)
        found: dict[str, Any] = {ORDER_EMAIL: email}
        if order_id is not None:
            found["order_id"] = order_id
        if email is None and order_id is None:
            dispatcher.utter_message(text=messages.INVALID_ORDER_EMAIL, buttons=[messages.TALK_TO_A_PERSON])
        return found


def find_email(text: str) -> str | None:
    """The first email address in `text`, as typed (the backend compares it without case or spaces)."""
    match = _EMAIL.search(text)
    return match.group(0) if match else None


def _asks_for_email(tracker: Tracker) -> bool:
    """The backend asked for the email on the order, and the form is asking for it, or starts again right
    after that look-up to ask. A later order question starts with the number, as for anyone."""
    if tracker.get_slot("order_lookup") not in (EMAIL_NEEDED, EMAIL_MISMATCH):
        return False
    return tracker.get_slot("requested_slot") == ORDER_EMAIL or _right_after_the_look_up(tracker)


def _right_after_the_look_up(tracker: Tracker) -> bool:
    # The form's own run is in the events as the action that runs now: the action before it counts.
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") != ORDER_FORM:
            return event.get("name") == LOOKUP_ORDER
    return False


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
    An anonymous visitor hears of no order until they give the email address it was placed with (_not_shown).
    """

    def name(self) -> str:
        return LOOKUP_ORDER

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        order_id, email = _what_to_look_up(tracker)
        if order_id is None:
            # The form only completes with a valid number, so this means the action ran out of turn.
            logger.warning("action_lookup_order without an order number in %s", tracker.sender_id)
            return _outcome("not_found", "that number", email)
        try:
            order = await backend_client.get_order(order_id, tracker.sender_id, email)
        except backend_client.BackendError:
            logger.warning("order look-up of %s failed", order_id, exc_info=True)
            return _outcome("unavailable", order_id, email)
        if order is None or isinstance(order, Withheld):
            return await _not_shown(dispatcher, tracker, order, order_id, email)
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
            return _outcome(PERSON_OFFERED, order_id, email)
        dispatcher.utter_message(text=reply.text, buttons=list(reply.buttons))
        return _outcome(FOUND, order_id, email)


def _what_to_look_up(tracker: Tracker) -> tuple[str | None, str | None]:
    """The order number and, from an anonymous visitor the backend asked, the email on the order. The form
    asked for the email alone: the number is the one the backend asked it for, unless another was typed."""
    email = tracker.get_slot(ORDER_EMAIL)
    email = email if isinstance(email, str) and email else None
    order_id = first_order_id(tracker.get_slot("order_id"))
    if order_id is None and email is not None:
        order_id = first_order_id(tracker.get_slot("last_order_id"))
    return order_id, email


async def _not_shown(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    withheld: Withheld | None,
    order_id: str,
    email: str | None,
) -> list[EventType]:
    """No order to tell about. No such order: the rules say so. An anonymous visitor hears why, before the
    form asks for the email on the order (again, after one that matched no order: None with an email), or
    is offered a person when the backend allows no more look-ups in this conversation."""
    if withheld is None and email is None:
        return _outcome("not_found", order_id)
    if withheld is Withheld.REFUSED:
        refused, offer = messages.ORDER_LOOKUPS_REFUSED, messages.ORDER_LOOKUPS_REFUSED_OFFER
        await offer_or_hand_over(dispatcher, tracker, refused, offer, messages.YES_PLEASE_OR_NO_THANKS)
        return _outcome(REFUSED, order_id, email)
    if withheld is Withheld.EMAIL_NEEDED:
        dispatcher.utter_message(text=messages.order_email_needed(order_id))
        return _outcome(EMAIL_NEEDED, order_id, email)
    dispatcher.utter_message(text=messages.order_email_mismatch(order_id))
    return _outcome(EMAIL_MISMATCH, order_id, email)


def _still_missing(tracker: Tracker, order_id: str) -> bool:
    """The customer says the order the bot has just answered about (this session) has still not arrived."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    answered = tracker.get_slot("order_lookup") in (FOUND, PERSON_OFFERED)
    same_order = first_order_id(tracker.get_slot("last_order_id")) == order_id
    return intent == SHIPPING_DELAY and answered and same_order and _looked_up_this_session(tracker)


def _outcome(result: str, order_id: str, email: str | None = None) -> list[EventType]:
    # order_id is cleared so that asking about an order again ("Try another order") asks for the number
    # instead of repeating this look-up; last_order_id keeps it for the not-found message and the handoff.
    events = [
        SlotSet("order_lookup", result),
        SlotSet("last_order_id", order_id),
        SlotSet("order_id", None),
    ]
    if email is not None:
        # The address was for this one look-up: no slot keeps it (nor the NLU's email entity's slot, filled
        # from the same message). A conversation that showed it sees the order again without it (backend).
        events += [SlotSet(ORDER_EMAIL, None), SlotSet("email", None)]
    return events
