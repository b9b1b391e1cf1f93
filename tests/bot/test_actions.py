"""Actions against a scripted backend at the HTTP boundary: every slot they set exists in bot/domain.yml with
an allowed value (so the rules that branch on it can match), and each backend outcome maps to one branch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from actions import backend_client
from actions.knowledge import ActionAnswerFromKnowledge
from actions.retention import ActionRetentionOffer

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "bot" / "domain.yml").read_text())
HIT = {
    "slug": "plans-and-pricing",
    "title": "Subscription plans and pricing",
    "url": "/kb/plans-and-pricing",
    "snippet": "Plus: $14.99, $149.",
    "confidence": 0.8,
    "answerable": True,
}


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[httpx.Request], httpx.Response]], None]:
    def use(handler: Callable[[httpx.Request], httpx.Response]) -> None:
        transport = httpx.MockTransport(handler)
        client = lambda: httpx.AsyncClient(base_url="http://backend", transport=transport)  # noqa: E731
        monkeypatch.setattr(backend_client, "_client", client)

    return use


def run(action: Any, text: str = "how much is the plus plan?") -> tuple[list[dict[str, Any]], list[Any]]:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    tracker = Tracker("conv-1", {}, {"text": text, "intent": {}}, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, events


def slot_values(events: list[Any]) -> dict[str, Any]:
    values = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    for name, value in values.items():
        assert name in DOMAIN["slots"], f"{name} is not a slot in bot/domain.yml"
        allowed = DOMAIN["slots"][name].get("values")
        assert allowed is None or value in allowed, f"{name}={value!r} is not one of {allowed}"
    return values


@pytest.mark.parametrize(
    ("respond", "outcome"),
    [
        (lambda r: httpx.Response(200, json={"answerable": True, "results": [HIT]}), "answered"),
        (lambda r: httpx.Response(200, json={"answerable": False, "results": [HIT]}), "not_sure"),
        (lambda r: httpx.Response(500, text="boom"), "unavailable"),
    ],
)
def test_a_knowledge_answer_sets_the_branch_the_rules_expect(backend, respond, outcome):
    backend(respond)
    messages, events = run(ActionAnswerFromKnowledge())
    assert slot_values(events) == {"kb_answer": outcome}
    if outcome == "answered":
        [answer] = messages
        assert "$14.99" in answer["text"]
        assert answer["custom"] == {"citations": [{"title": HIT["title"], "url": HIT["url"]}]}
    else:
        assert all(not m.get("custom") for m in messages) and messages


@pytest.mark.parametrize(
    ("respond", "outcome"),
    [
        (lambda r: httpx.Response(200, json={"offer": "a free month", "churn_risk": 0.8}), "offered"),
        (lambda r: httpx.Response(200, json={"offer": None, "churn_risk": 0.1}), "none"),
        (lambda r: httpx.Response(503, text="down"), "none"),
    ],
)
def test_a_retention_offer_sets_the_branch_the_rules_expect(backend, respond, outcome):
    backend(respond)
    messages, events = run(ActionRetentionOffer(), "cancel my subscription")
    assert slot_values(events) == {"retention": outcome}
    assert bool(messages) == (outcome == "offered")
    if messages:
        assert "a free month" in messages[0]["text"] and messages[0]["buttons"]
