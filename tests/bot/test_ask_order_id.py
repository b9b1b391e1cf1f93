"""The order form's question for the number (actions/orders.py ActionAskOrderId): a signed-in shopper also
gets their latest orders as buttons whose payload fills the form as a typed number would; a visitor, or a
backend that cannot say, gets the question alone; a turn the hand-off policy takes over gets the hand-over
alone. The backend is scripted at the HTTP boundary (the person-offer check, then the latest orders)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from actions import messages
from actions.orders import ActionAskOrderId
from tests.bot.test_actions import DOMAIN
from tests.bot.test_one_voice_followups import HANDED_OVER, LEFT_TO_THE_BOT

LATEST = [
    {"order_id": "ORD-100003", "status": "processing", "placed_at": "2026-12-05T10:00:00Z"},
    {"order_id": "ORD-100002", "status": "delayed", "placed_at": "2026-11-20T09:30:00Z"},
]


def orders(
    respond: Callable[[httpx.Request], httpx.Response], offer: dict[str, Any] | None = LEFT_TO_THE_BOT
) -> Callable[[httpx.Request], httpx.Response]:
    """The backend: the person-offer check answers `offer` (None: it is down), the latest orders `respond`."""

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/person-offer"):
            return httpx.Response(200, json=offer) if offer is not None else httpx.Response(503, text="down")
        return respond(request)

    return route


def ask() -> list[dict[str, Any]]:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    latest = {"text": "where is my order?", "intent": {"name": "order_status"}}
    user = {"event": "user", "text": latest["text"], "parse_data": latest}
    tracker = Tracker("conv-1", {}, latest, [user], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    assert asyncio.run(ActionAskOrderId().run(dispatcher, tracker, DOMAIN)) == []
    return dispatcher.messages


def order_requests(requests: list[httpx.Request]) -> list[httpx.Request]:
    return [r for r in requests if not r.url.path.endswith("/person-offer")]


def test_a_signed_in_shopper_picks_from_their_latest_orders(seen):
    asked = seen(orders(lambda r: httpx.Response(200, json={"orders": LATEST})))
    [question] = ask()
    assert question["text"] == messages.ASK_ORDER_ID_OR_PICK
    assert [b["title"] for b in question["buttons"]] == [
        "ORD-100003 (processing, placed Dec 5)",
        "ORD-100002 (delayed, placed Nov 20)",
    ]
    assert question["buttons"][0]["payload"] == '/inform{"order_id": "ORD-100003"}'
    [request] = order_requests(asked)
    assert request.url.path == "/api/v1/service/conversations/conv-1/orders"
    assert request.url.params["limit"] == "3"


@pytest.mark.parametrize(
    "respond",
    [
        lambda r: httpx.Response(200, json={"orders": []}),  # a visitor: no orders known
        lambda r: httpx.Response(503, text="down"),
        lambda r: httpx.Response(200, json={"orders": [{"order_id": "ORD-1"}]}),  # breaks the contract
    ],
    ids=["visitor", "backend down", "bad body"],
)
@pytest.mark.parametrize("offer", [LEFT_TO_THE_BOT, None], ids=["left to the bot", "check down"])
def test_otherwise_the_question_alone(seen, respond, offer):
    seen(orders(respond, offer))
    [question] = ask()
    assert question["response"] == "utter_ask_order_id" and not question["buttons"]


def test_a_turn_the_hand_off_policy_takes_gets_the_hand_over_alone(seen):
    asked = seen(orders(lambda r: httpx.Response(200, json={"orders": LATEST}), HANDED_OVER))
    [notice] = ask()
    assert notice["text"] == HANDED_OVER["message"] and not notice["buttons"]
    assert [r.url.path for r in asked] == ["/api/v1/service/conversations/conv-1/person-offer"]
