"""A typed yes / no is answered as the question the customer saw (actions/bare_answers.py).

The events below are what Rasa 3.6 stores when a customer types "yes pls" to the fallback's topic question
(read from a live tracker): the question with its buttons, the customer's message, the loop's end, the rewind
and the message said again as a clarified `affirm`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.bare_answers import ActionAnswerNo, ActionAnswerYes
from actions.fallback import confirm_payload, parse_payload

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "bot" / "domain.yml").read_text())
METADATA = {"channel": "web", "request_id": "req-1"}


def bot(text: str, utter_action: str | None = None, buttons: list[dict[str, str]] | None = None) -> dict:
    metadata = {"utter_action": utter_action} if utter_action else {}
    return {"event": "bot", "text": text, "metadata": metadata, "data": {"buttons": buttons}}


def user(text: str, intent: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}, "message_id": "7"}


TOPIC_QUESTION = bot(
    "Just to make sure I understood: is this about checking where your order is?",
    buttons=[
        {"title": "Yes", "payload": '/order_status{"order_id": "ORD-100066"}'},
        {"title": "No", "payload": "/out_of_scope"},
    ],
)
ANYTHING_ELSE = bot("Is there anything else I can help you with?", utter_action="utter_anything_else")
GREETING = bot("Hi! What can I do for you today?", utter_action="utter_greet")


def typed_after(question: dict[str, Any], text: str, intent: str) -> list[dict[str, Any]]:
    """The events of a typed answer to `question`, with the fallback's rewind after the topic question."""
    listen = {"event": "action", "name": "action_listen"}
    events = [listen, user("ORD-100066 hasnt moved", "nlu_fallback"), question, listen, user(text, intent)]
    if question is TOPIC_QUESTION:
        loop = {"event": "action", "name": "action_two_stage_fallback"}
        loop_ends = [loop, {"event": "active_loop", "name": None}]
        events += [*loop_ends, {"event": "rewind"}, listen, user(text, intent)]
    return events


def run(action: Any, events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Any]]:
    text, intent = events[-1]["text"], events[-1]["parse_data"]["intent"]["name"]
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.97}, "entities": [], "message_id": "7"}
    latest |= {"metadata": METADATA, "sentiment": {"label": "neutral", "score": 0.0}}
    tracker = Tracker("conv-1", {}, latest, events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    returned = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, returned


def test_a_typed_yes_to_the_topic_question_is_the_topic_said_again_as_the_yes_button_sends_it():
    messages, events = run(ActionAnswerYes(), typed_after(TOPIC_QUESTION, "yes pls", "affirm"))
    assert messages == []
    assert [e["event"] for e in events] == ["rewind", "action", "user"]
    assert events[1]["name"] == "action_listen"
    said = events[2]
    assert said["text"] == "yes pls"
    assert said["parse_data"]["intent"] == {"name": "order_status", "confidence": 1.0}
    assert said["parse_data"]["entities"] == [{"entity": "order_id", "value": "ORD-100066"}]
    # The turn's stored parse stays the customer's own message (bot/channels/hub.py finds it by message id);
    # the request id the logs carry and the sentiment travel with the clarified message.
    assert "message_id" not in said and "message_id" not in said["parse_data"]
    assert said["metadata"] == METADATA and said["parse_data"]["sentiment"]["label"] == "neutral"


def test_a_typed_no_to_the_topic_question_asks_to_rephrase_as_the_no_button_does():
    messages, events = run(ActionAnswerNo(), typed_after(TOPIC_QUESTION, "no, ill try once more", "deny"))
    assert [m["response"] for m in messages] == ["utter_ask_rephrase"] and events == []


@pytest.mark.parametrize(
    ("action", "question", "text", "intent", "response"),
    [
        (ActionAnswerYes(), ANYTHING_ELSE, "yes", "affirm", "utter_how_can_help"),
        (ActionAnswerNo(), ANYTHING_ELSE, "no thats all, thx", "deny", "utter_glad_to_help"),
        (ActionAnswerYes(), GREETING, "ok", "affirm", "utter_how_can_help"),
        (ActionAnswerNo(), GREETING, "nope", "deny", "utter_no_problem"),
        # Yes / No buttons that are not the topic question (the offer of a person) are not read as one.
        (
            ActionAnswerYes(),
            bot("Would you like me to connect you?", buttons=[{"title": "Yes", "payload": "/affirm"}]),
            "ok",
            "affirm",
            "utter_how_can_help",
        ),
    ],
)
def test_a_yes_or_no_to_anything_else_says_what_the_rules_said_before(
    action: Any, question: dict[str, Any], text: str, intent: str, response: str
) -> None:
    messages, events = run(action, typed_after(question, text, intent))
    assert [m["response"] for m in messages] == [response] and events == []


def test_a_payload_without_entities_has_none():
    assert parse_payload("/complaint") == ("complaint", [])


def test_the_yes_buttons_payload_reads_back_as_it_was_made():
    latest = {"entities": [{"entity": "order_id", "value": "ORD-100066"}]}
    assert parse_payload(confirm_payload("order_status", latest)) == ("order_status", latest["entities"])


def test_the_actions_and_what_they_say_are_in_the_domain():
    assert {"action_answer_yes", "action_answer_no"} <= set(DOMAIN["actions"])
    said = {"utter_how_can_help", "utter_glad_to_help", "utter_no_problem", "utter_ask_rephrase"}
    assert said <= set(DOMAIN["responses"])
