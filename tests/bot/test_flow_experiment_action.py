"""The knowledge action's bot-flow experiment (flow kb-not-sure, backend/experiments/flows.py) against a
scripted backend at the HTTP boundary: the variant the backend gives changes what the customer reads, the
flow is asked about only when the conversation meets it, and a failure to ask means the default."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from actions import backend_client, messages
from actions.knowledge import ActionAnswerFromKnowledge

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "bot" / "domain.yml").read_text())
HIT = {
    "slug": "gift-cards",
    "title": "Gift cards",
    "url": "/kb/gift-cards",
    "heading_path": ["Gift cards"],
    "snippet": "Gift cards never expire and can be used on any order.",
    "score": 0.01,
    "dense_score": 0.4,
    "bm25_score": 2.0,
    "confidence": 0.3,
    "answerable": False,
}
SEARCH = "/api/v1/service/kb/search"
FLOW = "/api/experiments/flows/kb-not-sure/conversations/conv-1"


def variant(name: str, experiment: str | None = "kb-not-sure") -> httpx.Response:
    body = {"flow": "kb-not-sure", "conversation_id": "conv-1", "variant": name, "experiment": experiment}
    return httpx.Response(200, json=body)


def search(answerable: bool, hits: list[dict[str, Any]]) -> httpx.Response:
    body = {"query": "do gift cards expire", "threshold": 0.5, "answerable": answerable, "results": hits}
    return httpx.Response(200, json=body)


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[httpx.Request]]:
    def use(search_reply: httpx.Response, flow_reply: httpx.Response) -> list[httpx.Request]:
        seen: list[httpx.Request] = []

        def handle(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            if request.url.path == SEARCH:
                return search_reply
            if request.url.path == FLOW and request.method == "POST":
                return flow_reply
            return httpx.Response(404, json={"detail": "not found"})

        transport = httpx.MockTransport(handle)
        client = lambda: httpx.AsyncClient(base_url="http://backend", transport=transport)  # noqa: E731
        monkeypatch.setattr(backend_client, "_client", client)
        return seen

    return use


def run() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    tracker = Tracker("conv-1", {}, {"text": "do gift cards expire?", "intent": {}}, [], False, None, {}, "")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswerFromKnowledge().run(dispatcher, tracker, DOMAIN))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    for name, value in slots.items():
        assert value in DOMAIN["slots"][name]["values"]  # the rules can branch on it without retraining
    return dispatcher.messages, slots


def test_suggest_closest_shows_the_closest_article_and_still_leaves_the_person_offer_to_the_rules(backend):
    seen = backend(search(False, [HIT]), variant("suggest_closest"))
    [message], slots = run()
    assert slots == {"kb_answer": "not_sure"}
    assert HIT["snippet"] in message["text"] and "not sure" in message["text"]
    assert message["custom"] == {"citations": [{"title": "Gift cards", "url": "/kb/gift-cards"}]}
    assert [(r.method, r.url.path) for r in seen] == [("GET", SEARCH), ("POST", FLOW)]


def test_not_sure_says_only_that_it_is_not_sure(backend):
    backend(search(False, [HIT]), variant("not_sure"))
    [message], slots = run()
    assert slots == {"kb_answer": "not_sure"}
    assert message["text"] == messages.KB_NOT_SURE and not message.get("custom")


@pytest.mark.parametrize(
    "flow_reply",
    [
        httpx.Response(500, text="boom"),
        httpx.Response(200, json={"variant": "suggest_closest"}),  # not the contract's body
        variant("some_retired_variant", None),
    ],
)
def test_without_a_usable_variant_the_bot_uses_the_default(backend, flow_reply):
    backend(search(False, [HIT]), flow_reply)
    [message], slots = run()
    assert slots == {"kb_answer": "not_sure"} and message["text"] == messages.KB_NOT_SURE


@pytest.mark.parametrize(("answerable", "hits"), [(True, [HIT | {"answerable": True}]), (False, [])])
def test_a_conversation_that_does_not_meet_the_flow_is_not_enrolled(backend, answerable, hits):
    seen = backend(search(answerable, hits), variant("suggest_closest"))
    run()
    assert [r.url.path for r in seen] == [SEARCH]
