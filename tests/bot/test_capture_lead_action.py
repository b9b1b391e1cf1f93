"""action_capture_lead against a scripted backend: what the customer hears for each backend outcome, and the
request it sends (the contract's body, the sales intent). action_note_upgrade_interest: the plan change's
silent step, which sends the plan asked for and says nothing whatever the backend answers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from actions import messages
from actions.leads import ActionCaptureLead, ActionNoteUpgradeInterest
from contract.service_api import SALES_HANDOFF_MESSAGE, SKILL_BY_INTENT

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "bot" / "domain.yml").read_text())
RULES = yaml.safe_load((Path(__file__).resolve().parents[2] / "bot" / "data" / "rules.yml").read_text())


def lead(routed: bool, message: str | None) -> dict[str, Any]:
    return {
        "lead_id": 4,
        "created": True,
        "score": 0.7 if routed else 0.2,
        "routed": routed,
        "message": message,
    }


def run() -> list[dict[str, Any]]:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    message = {"text": "we need 50 seats", "intent": {"name": "sales_inquiry", "confidence": 0.9}}
    tracker = Tracker("conv-9", {}, message, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    assert asyncio.run(ActionCaptureLead().run(dispatcher, tracker, DOMAIN)) == []
    return dispatcher.messages


@pytest.mark.parametrize(
    ("respond", "expected"),
    [
        (
            lambda r: httpx.Response(200, json=lead(True, SALES_HANDOFF_MESSAGE)),
            {"text": SALES_HANDOFF_MESSAGE},
        ),
        (lambda r: httpx.Response(200, json=lead(False, None)), {"response": "utter_sales_noted"}),
        (lambda r: httpx.Response(503, text="down"), {"response": "utter_sales_noted"}),
        (lambda r: httpx.Response(200, json={"lead_id": 4}), {"response": "utter_sales_noted"}),
    ],
)
def test_the_customer_hears_the_outcome_and_never_an_error(seen, respond, expected):
    requests = seen(respond)
    [said] = run()
    assert {k: v for k, v in said.items() if k in expected} == expected
    [request] = requests
    assert request.url.path == "/api/v1/service/conversations/conv-9/lead"
    assert json.loads(request.content) == {"intent": "sales_inquiry", "plan": None}


def test_the_intent_the_response_and_the_rule_exist():
    assert "sales_inquiry" in DOMAIN["intents"] and "action_capture_lead" in DOMAIN["actions"]
    assert "utter_sales_noted" in DOMAIN["responses"]
    assert SKILL_BY_INTENT["sales_inquiry"] == "sales"
    assert "sales_inquiry" in messages.AFFIRMATION_TOPICS
    steps = [rule["steps"] for rule in RULES["rules"] if rule["steps"][0].get("intent") == "sales_inquiry"]
    assert steps == [[{"intent": "sales_inquiry"}, {"action": "action_capture_lead"}]]


def note_upgrade(text: str, entities: list[dict[str, Any]], slots: dict[str, Any]) -> list[dict[str, Any]]:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    message = {"text": text, "intent": {"name": "change_plan", "confidence": 0.9}, "entities": entities}
    tracker = Tracker("conv-7", slots, message, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    assert asyncio.run(ActionNoteUpgradeInterest().run(dispatcher, tracker, DOMAIN)) == []
    return dispatcher.messages


PRO = {"entity": "product", "value": "Pro plan"}
NO_LEAD = {"lead_id": None, "created": False, "score": None, "routed": False, "message": None}


@pytest.mark.parametrize(
    ("entities", "slots", "plan"),
    [
        ([PRO], {}, "Pro plan"),  # this message's entity
        ([], {"product": "Plus plan"}, "Plus plan"),  # named earlier ("how much is the Plus plan?")
        ([{"entity": "product", "value": "Headlamp 400"}], {"product": "Headlamp 400"}, None),  # not a plan
        ([], {}, None),
    ],
)
@pytest.mark.parametrize(
    "respond",
    [
        lambda r: httpx.Response(200, json=lead(False, None)),
        lambda r: httpx.Response(200, json=NO_LEAD),
        lambda r: httpx.Response(503, text="down"),
        lambda r: httpx.Response(200, json={"lead_id": "x"}),
    ],
)
def test_a_plan_change_is_sent_as_upgrade_interest_and_says_nothing(seen, entities, slots, plan, respond):
    requests = seen(respond)
    assert note_upgrade("upgrade me please", entities, slots) == []
    [request] = requests
    assert request.url.path == "/api/v1/service/conversations/conv-7/lead"
    assert json.loads(request.content) == {"intent": "change_plan", "plan": plan}


def test_the_plan_change_rule_notes_the_upgrade_first_and_answers_as_before():
    assert "action_note_upgrade_interest" in DOMAIN["actions"]
    steps = [rule["steps"] for rule in RULES["rules"] if rule["steps"][0].get("intent") == "change_plan"]
    assert steps == [
        [
            {"intent": "change_plan"},
            {"action": "action_note_upgrade_interest"},
            {"action": "utter_change_plan"},
            {"action": "utter_anything_else"},
        ]
    ]
