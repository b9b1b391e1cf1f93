"""The hub channel's shared secret: with RASA_TOKEN set, a turn without
`Authorization: Bearer <RASA_TOKEN>` is answered 401 and never handed to Rasa's dialogue; without RASA_TOKEN
(a developer's `rasa run` by hand) turns are taken as before, and the channel warns once when it starts. The
real server's answers are in tests/e2e/test_rasa_api_auth.py; here the channel's own handler runs, called as
Sanic would call it."""

from __future__ import annotations

import asyncio
import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from channels import hub
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain

TOKEN = "a-shared-secret-of-the-stack"


def post(headers: dict[str, str]) -> tuple[int, dict[str, Any], list[UserMessage]]:
    """One turn through the channel's webhook handler: its status, its body and what reached the dialogue."""
    handed_on: list[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        handed_on.append(message)

    blueprint = hub.HubInput().blueprint(on_new_message)
    receive = next(route.handler for route in blueprint._future_routes if route.uri == "/webhook")
    store = InMemoryTrackerStore(Domain.empty())
    request = SimpleNamespace(
        json={"sender": "conv-1", "message": "hi", "message_id": "m-1"},
        headers=headers,
        app=SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(tracker_store=store))),
    )
    answer = asyncio.run(receive(request))
    return answer.status, json.loads(answer.body), handed_on


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer wrong", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer é"],
)
def test_a_turn_without_the_token_is_refused_before_the_dialogue(monkeypatch, authorization):
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    headers = {} if authorization is None else {"Authorization": authorization}
    status, body, handed_on = post(headers)
    assert (status, body, handed_on) == (401, {"error": "unauthorized"}, [])


@pytest.mark.parametrize("authorization", [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"Bearer  {TOKEN} "])
def test_a_turn_with_the_token_reaches_the_dialogue(monkeypatch, authorization):
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    status, body, handed_on = post({"Authorization": authorization})
    assert status == 200 and set(body) == {"messages", "parse"}
    assert [(m.sender_id, m.text, m.message_id) for m in handed_on] == [("conv-1", "hi", "m-1")]


@pytest.mark.parametrize("configured", [None, ""])
def test_without_a_configured_token_turns_are_taken_with_one_warning(monkeypatch, caplog, configured):
    if configured is None:
        monkeypatch.delenv("RASA_TOKEN", raising=False)
    else:
        monkeypatch.setenv("RASA_TOKEN", configured)
    with caplog.at_level(logging.WARNING, logger="channels.hub.auth"):
        status, _, handed_on = post({})
    assert status == 200 and len(handed_on) == 1
    [warning] = [r for r in caplog.records if r.name == "channels.hub.auth"]
    assert "RASA_TOKEN is not set" in warning.getMessage()


def test_with_a_token_the_channel_starts_without_a_warning(monkeypatch, caplog):
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    with caplog.at_level(logging.WARNING, logger="channels.hub.auth"):
        hub.HubInput().blueprint(lambda _: asyncio.sleep(0))
    assert [r for r in caplog.records if r.name == "channels.hub.auth"] == []


def test_the_comparison_needs_the_whole_token():
    assert hub.is_authorized(f"Bearer {TOKEN}", TOKEN)
    assert not hub.is_authorized(f"Bearer {TOKEN[:-1]}", TOKEN)
    assert not hub.is_authorized(None, TOKEN)
    assert hub.is_authorized(None, "")  # no token configured: the development behaviour
