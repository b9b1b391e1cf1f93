"""action_capture_lead against a scripted backend: what the customer hears for each backend outcome, and the
request it sends (the contract's body, the sales intent)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from actions import backend_client, messages
from actions.leads import ActionCaptureLead
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


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[httpx.Request], httpx.Response]], list]:
    def use(handler: Callable[[httpx.Request], httpx.Response]) -> list[httpx.Request]:
        requests: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            return handler(request)

        transport = httpx.MockTransport(record)
        client = lambda: httpx.AsyncClient(base_url="http://backend", transport=transport)  # noqa: E731
        monkeypatch.setattr(backend_client, "_client", client)
        return requests

    return use


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
    assert json.loads(request.content) == {"intent": "sales_inquiry"}


def test_the_intent_the_response_and_the_rule_exist():
    assert "sales_inquiry" in DOMAIN["intents"] and "action_capture_lead" in DOMAIN["actions"]
    assert "utter_sales_noted" in DOMAIN["responses"]
    assert SKILL_BY_INTENT["sales_inquiry"] == "sales"
    assert "sales_inquiry" in messages.AFFIRMATION_TOPICS
    steps = [rule["steps"] for rule in RULES["rules"] if rule["steps"][0].get("intent") == "sales_inquiry"]
    assert steps == [[{"intent": "sales_inquiry"}, {"action": "action_capture_lead"}]]
