"""Handing the conversation to a person from the support team."""

import logging
from collections.abc import Callable, Sequence
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend_client, messages
from contract.embedding import PARSE_KEY as EMBEDDING_KEY
from contract.quick_replies import CUSTOMER_TEXT_KEY
from contract.service_api import (
    HANDOFF_MESSAGE,
    MAX_HANDOFF_REASON_CHARS,
    NON_TOPICAL_INTENTS,
    PersonOfferRequest,
    PersonOfferResult,
)

logger = logging.getLogger(__name__)

# Topics whose intent name alone would undersell them to the agent.
TOPIC_NAMES = {
    "security_concern": (
        "account security (someone else in the account, or orders or charges the customer did not make)"
    ),
}
NOT_HELPFUL = "not_helpful"
# Replies whose words tell the agent nothing ("yes", "hi"). Unclear messages (nlu_fallback) are kept on
# purpose: after a failed fallback they are exactly what the agent needs to read.
_NO_CONTENT = {"affirm", "deny", "greet", "goodbye", "thanks", "request_human"}


class ActionHandoff(Action):
    """Asks the backend to queue the conversation for a person, and tells the customer what happens next."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            result = await backend_client.handoff(tracker.sender_id, handoff_reason(tracker))
        except backend_client.BackendError:
            # The customer asked for a person; an error message would leave them stranded, so they hear that
            # someone will follow up, and the failure is logged for the team.
            logger.error("handoff of conversation %s failed", tracker.sender_id, exc_info=True)
            dispatcher.utter_message(text=messages.HANDOFF_FAILED)
            return []
        # The backend's words when it sends any (they may change with it), the shared default otherwise.
        dispatcher.utter_message(text=result.message if result.message.strip() else HANDOFF_MESSAGE)
        return []


class ActionOfferPerson(Action):
    """Offers a person (yes/no buttons), unless the backend's hand-off policy takes this turn over anyway.

    The policy decides after every turn whether a person takes over; asking the customer in the very turn it
    hands over showed both the question and "I'm connecting you", and the customer's "No, thanks" then
    reached the agent (issue 14). So the backend is asked first (offer_or_hand_over). Otherwise the question
    is the bot's, and its yes/no rules (bot/data/rules.yml) answer.
    """

    lead_in: str | None = None  # what `question` says before it asks, said alone if the policy takes over
    question: str = messages.PERSON_OFFER  # the whole message when the bot asks
    buttons: tuple[dict[str, str], ...] = messages.PERSON_OFFER_BUTTONS
    action_name: str = "action_offer_person"

    def name(self) -> str:
        return self.action_name

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        await offer_or_hand_over(dispatcher, tracker, self.lead_in, self.question, self.buttons)
        return []


class ActionApologizeComplaint(ActionOfferPerson):
    """A complaint: an apology, then the offer of a person (or the policy's hand-over, as above)."""

    lead_in = messages.COMPLAINT_APOLOGY
    question = f"{messages.COMPLAINT_APOLOGY} {messages.COMPLAINT_OFFER}"
    buttons = messages.COMPLAINT_OFFER_BUTTONS
    action_name = "action_apologize_complaint"


class ActionWelcomeOfferStands(ActionOfferPerson):
    """A thanks in answer to an offer of a person: "you're welcome" with the offer kept open (or the policy's
    hand-over). A message read as thanks there may be no thanks at all: "if this isn't fixed today I'm posting
    about it on every review site" was, and the policy handed it over after "You're welcome. If you'd still
    like someone..." had been said. Asked first, the customer hears the hand-over alone."""

    question = messages.WELCOME_OFFER_STANDS
    buttons = messages.PERSON_OFFER_BUTTONS
    action_name = "action_welcome_offer_stands"


class ActionSecurityConcern(ActionOfferPerson):
    """Account security: a person at once when the policy takes the turn (someone else in the account, orders
    or charges the customer did not make: labelling rule H4 a), else how to secure the account and the offer
    of a person. The intent alone handed over before, and on dev conversations it also fired on questions a
    person need not take ("how can I see which devices are signed in?")."""

    lead_in = messages.SECURITY_HANDOFF
    question = f"{messages.SECURITY_ADVICE} {messages.SECURITY_OFFER}"
    buttons = messages.SECURITY_OFFER_BUTTONS
    action_name = "action_security_concern"


class ActionCancelInfo(ActionOfferPerson):
    """How to cancel, then "would you like to talk to someone?" (or the policy's hand-over). Asked again in
    the same conversation, the policy usually takes the turn (a person cancels it: labelling rule H4 b); if
    not, the steps in one line and a person offered to do it: repeating the whole text reads as a loop."""

    lead_in = messages.CANCEL_INFO
    question = f"{messages.CANCEL_INFO} {messages.CANCEL_OFFER}"
    buttons = messages.CANCEL_OFFER_BUTTONS
    action_name = "action_cancel_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not _said_before(tracker, self.action_name):
            return await super().run(dispatcher, tracker, domain)
        again = f"{messages.CANCEL_INFO_AGAIN} {messages.CANCEL_OFFER_AGAIN}"
        await offer_or_hand_over(dispatcher, tracker, messages.CANCEL_BY_PERSON, again, self.buttons)
        return []


def _said_before(tracker: Tracker, action_name: str) -> bool:
    return any(e.get("event") == "action" and e.get("name") == action_name for e in tracker.events)


class ActionOrderLookupFailed(ActionOfferPerson):
    """The order system is unreachable: where to see the order, or a person (or the policy's hand-over)."""

    lead_in = messages.ORDER_LOOKUP_FAILED
    question = messages.ORDER_LOOKUP_FAILED_OFFER
    buttons = messages.ORDER_LOOKUP_FAILED_BUTTONS
    action_name = "action_order_lookup_failed"


async def offer_or_hand_over(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    lead_in: str | None,
    question: str,
    buttons: Sequence[dict[str, str]],
) -> bool:
    """Says `question` with its yes/no `buttons`, unless the backend's hand-off policy takes this turn over.

    The backend is asked first (the service API's person-offer route): if its policy hands over, it does so
    now and the customer hears `lead_in` (the information the question followed) and the hand-over instead;
    the hub then finds the conversation handed over and adds no notice of its own. The backend unreachable,
    the bot asks: a person stays one "yes" away. Returns whether the conversation was handed over.
    """
    taken = await _taken_over(tracker)
    if taken is None or not taken.handed_over:
        dispatcher.utter_message(text=question, buttons=list(buttons))
        return False
    if lead_in:
        dispatcher.utter_message(text=lead_in)
    # No message: a full queue's follow-up note has told the customer already.
    if taken.message:
        dispatcher.utter_message(text=taken.message)
    return True


async def hand_over_if_the_policy_takes_it(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Hands over now, and says so, if the backend's hand-off policy takes this turn; else says nothing.

    For a turn the bot would otherwise answer with a question of its own (an unclear message's "could you
    tell me in a few words...?"), so the customer does not hear it beside "I'm connecting you".
    """
    taken = await _taken_over(tracker)
    if taken is None or not taken.handed_over:
        return False
    if taken.message:
        dispatcher.utter_message(text=taken.message)
    return True


async def _taken_over(tracker: Tracker) -> PersonOfferResult | None:
    """The backend's answer to the coming offer; None when it gave none (the bot then asks)."""
    try:
        return await backend_client.person_offer(tracker.sender_id, person_offer_request(tracker))
    except backend_client.BackendError:
        logger.warning("person offer check of %s failed; asking", tracker.sender_id, exc_info=True)
        return None


def person_offer_request(tracker: Tracker) -> PersonOfferRequest:
    """This turn as the hand-off policy reads it (backend/handoff/features.py: intent, sentiment, words)."""
    message = tracker.latest_message or {}
    sentiment = message.get("sentiment") or {}
    score = sentiment.get("score")
    label = sentiment.get("label")
    return PersonOfferRequest(
        reason=handoff_reason(tracker),
        intent=(message.get("intent") or {}).get("name") or "nlu_fallback",
        text=(message.get("text") or "")[:5000],
        sentiment_label=label if isinstance(label, str) else None,
        sentiment_score=max(-1.0, min(1.0, float(score))) if isinstance(score, int | float) else None,
        embedding=embedding if isinstance(embedding := message.get(EMBEDDING_KEY), str) else None,
    )


def handoff_reason(tracker: Tracker) -> str:
    """A short brief for the agent: topic, order number and the customer's own words.

    The topic is the last intent that says what the customer needs (the backend picks the case's skill by the
    same rule, from the same NON_TOPICAL_INTENTS).
    """
    user_events = [e for e in tracker.events if e.get("event") == "user"]
    topic_event = _latest(user_events, lambda intent: intent not in NON_TOPICAL_INTENTS)
    topic = _topic_name(_intent_of(topic_event)) if topic_event else "customer asked for a person"
    parts = [f"Topic: {topic}"]
    # Tells the agent the bot already tried and failed, so they do not start with the same answer.
    not_helped = sum(1 for event in user_events if _intent_of(event) == NOT_HELPFUL)
    if not_helped:
        parts.append(f"The bot's answers did not help (the customer said so {_times(not_helped)})")
    order_id = tracker.get_slot("order_id") or tracker.get_slot("last_order_id")
    if isinstance(order_id, str) and order_id.startswith("ORD-"):
        parts.append(f"Order: {order_id}")
    # The words that carried the topic say most; then the latest words with content; then anything typed.
    words_event = (
        topic_event
        or _latest(user_events, lambda intent: intent not in _NO_CONTENT)
        or _latest(user_events, lambda intent: True)
    )
    words = _typed_text(words_event) if words_event else None
    if words:
        parts.append(f'Customer wrote: "{words}"')
    answer = _answer_in_words(user_events)
    if answer and answer != words:
        parts.append(f'Then answered: "{answer}"')
    return ". ".join(parts)[:MAX_HANDOFF_REASON_CHARS]


def _answer_in_words(user_events: list[dict[str, Any]]) -> str | None:
    """The latest message's words when the backend sent it as a button's payload: a yes typed to the offer of
    a person says which option the customer chose ("yes, reship it please"); a click says only its title."""
    if not user_events or not (user_events[-1].get("text") or "").startswith("/"):
        return None
    typed = (user_events[-1].get("metadata") or {}).get(CUSTOMER_TEXT_KEY)
    return _quoted(typed) if isinstance(typed, str) else None


def _topic_name(intent: str) -> str:
    return TOPIC_NAMES.get(intent, intent.replace("_", " "))


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _intent_of(event: dict[str, Any]) -> str:
    intent = (event.get("parse_data") or {}).get("intent") or {}
    return intent.get("name") or ""


def _latest(user_events: list[dict[str, Any]], wanted: Callable[[str], bool]) -> dict[str, Any] | None:
    """The latest message the customer typed (not a button) whose intent is `wanted`."""
    for event in reversed(user_events):
        if _typed_text(event) and wanted(_intent_of(event)):
            return event
    return None


def _typed_text(event: dict[str, Any]) -> str | None:
    # Button clicks arrive as "/affirm"-style payloads; the agent needs what the customer actually wrote.
    text = (event.get("text") or "").strip()
    return None if text.startswith("/") else _quoted(text)


def _quoted(text: str) -> str | None:
    """The customer's words as the brief quotes them: trimmed, at most 300 characters; None when empty."""
    return text.strip()[:300] or None
