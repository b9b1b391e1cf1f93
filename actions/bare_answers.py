"""A typed "yes" or "no" that the rules read as answering no question: answered as the question on screen.

The two-stage fallback asks "is this about <topic>?" with Yes/No buttons (actions/fallback.py). A click sends
the topic's intent (or /out_of_scope for No) and the loop goes on as Rasa designed it. A typed "yes pls" is
read by the loop as a clarified message whose intent is `affirm`: Rasa undoes the loop's steps and rewinds the
customer's message, so the rules see a bare "yes" after whatever came before the fallback and answer "Sure!
What can I help you with?", and a typed "no" "Glad I could help! ... Have a great day" - to a customer who
had just confirmed a complaint or was about to rephrase. The tracker the action server gets still holds every
event, rewound ones included, so these actions read the last bot message the customer saw and answer that:
a typed "yes" to the topic question becomes the topic, said again (the Yes button's message, with the
entities it carries), and a typed "no" asks to rephrase, as the No button does. Otherwise they say what the
rules said before (bot/data/rules.yml, "yes without a question", "anything else - yes / no").
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.conversation_events import last_seen_bot_message
from actions.fallback import REJECT_PAYLOAD, parse_payload

ANYTHING_ELSE = "utter_anything_else"


def topic_payload(bot_message: dict[str, Any] | None) -> str | None:
    """The Yes button's payload when the message is the fallback's topic question (Yes -> /topic, No ->
    /out_of_scope), else None."""
    buttons = ((bot_message or {}).get("data") or {}).get("buttons") or []
    payloads = [b.get("payload") for b in buttons if isinstance(b, dict)]
    if len(payloads) == 2 and payloads[1] == REJECT_PAYLOAD and str(payloads[0]).startswith("/"):
        return str(payloads[0])
    return None


def said_as(tracker: Tracker, payload: str) -> list[EventType]:
    """The customer's latest message said again with the topic's intent, as the Yes button would have sent it;
    the policies then answer the topic. The parse keeps the customer's text, sentiment and metadata (the
    request id the logs carry)."""
    intent, entities = parse_payload(payload)
    latest = dict(tracker.latest_message)
    latest.pop("message_id", None)  # the turn's stored parse stays the customer's own message
    topic = {"name": intent, "confidence": 1.0}
    parse = latest | {"intent": topic, "intent_ranking": [topic], "entities": entities}
    user = {
        "event": "user",
        "timestamp": None,
        "text": latest.get("text"),
        "parse_data": parse,
        "input_channel": tracker.get_latest_input_channel(),
        "metadata": latest.get("metadata"),
    }
    return [UserUtteranceReverted(), ActionExecuted("action_listen"), user]


class ActionAnswerYes(Action):
    def name(self) -> str:
        return "action_answer_yes"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        payload = topic_payload(last_seen_bot_message(tracker.events))
        if payload is not None:
            return said_as(tracker, payload)
        dispatcher.utter_message(response="utter_how_can_help")
        return []


class ActionAnswerNo(Action):
    def name(self) -> str:
        return "action_answer_no"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        seen = last_seen_bot_message(tracker.events)
        if topic_payload(seen) is not None:
            response = "utter_ask_rephrase"
        elif ((seen or {}).get("metadata") or {}).get("utter_action") == ANYTHING_ELSE:
            response = "utter_glad_to_help"
        else:
            response = "utter_no_problem"
        dispatcher.utter_message(response=response)
        return []
