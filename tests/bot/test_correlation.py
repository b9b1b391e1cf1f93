"""The correlation id on the Rasa side: the hub channel takes the backend's X-Request-ID, logs the turn under
it and puts it in the message's metadata; the action server reads it from the tracker's latest message, logs
under it, sends it back to the backend, and counts and times every action call (served on
ACTIONS_METRICS_PORT)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import uuid
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from channels import hub
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionNotFoundException
from sanic import Sanic

from actions import backend_client, instrumentation, observability
from contract.observability import JsonFormatter, format_existing_handlers

ORDER = {
    "order_id": "ORD-100001",
    "status": "shipped",
    "carrier": "UPS",
    "tracking_number": "1Z999AA10123456784",
    "estimated_delivery": None,
    "placed_at": "2026-11-20T10:00:00",
    "total": "89.90",
    "currency": "USD",
    "items": [{"product": "Headlamp 400", "quantity": 2}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_uuid4(value: str) -> bool:
    try:
        return uuid.UUID(value).version == 4
    except ValueError:
        return False


# ---- the channel ----------------------------------------------------------------------------------------


async def post_turns(requests: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Serve the hub channel on a real Sanic server and post each turn; returns what Rasa's message handler
    saw during each turn and each response body."""
    seen: list[dict[str, Any]] = []
    store = InMemoryTrackerStore(Domain.empty())
    turn_log = logging.getLogger("rasa.core.processor")  # a line Rasa logs during the turn

    async def handle(message: UserMessage) -> None:
        # What Rasa's agent does with the message, as far as the channel can see: the user event keeps the
        # message's metadata on the saved tracker, and the turn's log lines are written meanwhile.
        turn_log.info("handling a message")
        seen.append({"metadata": message.metadata, "current": hub.current_request_id()})
        tracker = DialogueStateTracker(message.sender_id, [])
        tracker.update(
            UserUttered(
                message.text, {"name": "greet"}, metadata=message.metadata, message_id=message.message_id
            )
        )
        await store.save(tracker)

    app = Sanic(f"hub_test_{uuid.uuid4().hex[:8]}", configure_logging=False)
    app.ctx.agent = SimpleNamespace(tracker_store=store)
    app.blueprint(hub.HubInput().blueprint(handle), url_prefix="/webhooks/hub")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    bodies = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for request in requests:
                response = await client.post("/webhooks/hub/webhook", **request)
                assert response.status_code == 200, response.text
                bodies.append(response.json())
    finally:
        server.close()
        await server.wait_closed()
    return seen, bodies


def turn(message_id: str, **headers: str) -> dict[str, Any]:
    body = {"sender": "conv-7", "message": "hi", "message_id": message_id, "metadata": {"channel": "widget"}}
    return {"json": body, "headers": headers}


def test_the_channel_keeps_the_backends_id_logs_under_it_and_puts_it_in_the_metadata(caplog):
    # One server for every turn: Sanic 21.12 rewrites its protocol class when it first serves, and cannot
    # serve a second app in the same process.
    caplog.set_level(logging.INFO)
    bad = turn("43", **{"X-Request-ID": "x" * 129})
    bad["json"]["metadata"] = ["not", "an", "object"]
    seen, bodies = asyncio.run(post_turns([turn("41", **{"X-Request-ID": "turn-41"}), turn("42"), bad]))
    first, second, third = seen
    assert first == {"metadata": {"channel": "widget", "request_id": "turn-41"}, "current": "turn-41"}
    # The parse the backend gets back is the saved user event's, metadata included.
    assert bodies[0]["parse"]["metadata"]["request_id"] == "turn-41"
    # A caller without an id (a direct call to Rasa): the turn still gets one, and only that turn.
    made = second["current"]
    assert is_uuid4(made) and second["metadata"]["request_id"] == made
    names = ("rasa.core.processor", "channels.hub")
    ids = {(r.name, r.request_id) for r in caplog.records if r.name in names}
    assert ids == {(name, i) for name in names for i in ("turn-41", made, third["current"])}
    assert hub.current_request_id() is None
    # An id that is no printable ASCII of at most 128 characters is replaced; metadata that is no object
    # is dropped rather than failing the turn.
    assert list(third["metadata"]) == ["request_id"] and is_uuid4(third["current"])
    assert third["current"] not in (made, "x" * 129)


# ---- the action server ----------------------------------------------------------------------------------


def action_call(action: str, metadata: dict[str, Any] | None) -> dict[str, Any]:
    latest = {"text": "where is ORD-100001", "intent": {"name": "order_status"}, "entities": []}
    if metadata is not None:
        latest["metadata"] = metadata
    tracker = {
        "sender_id": "conv-7",
        "slots": {"order_id": "ORD-100001"},
        "latest_message": latest,
        "events": [],
        "latest_action_name": "action_listen",
    }
    return {
        "next_action": action,
        "sender_id": "conv-7",
        "tracker": tracker,
        "domain": {},
        "version": "3.6.2",
    }


@pytest.fixture
def backend_calls(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    """The backend at the HTTP boundary: every request the client sends, answered with the order."""
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.url.path.endswith("ORD-500000"):
            return httpx.Response(503, text="down")
        return httpx.Response(200, json=ORDER)

    transport = httpx.MockTransport(answer)
    client = lambda: httpx.AsyncClient(base_url="http://backend", transport=transport)  # noqa: E731
    monkeypatch.setattr(backend_client, "_client", client)
    return calls


@pytest.fixture(scope="module")
def executor() -> ActionExecutor:
    executor = ActionExecutor()
    executor.register_package("actions")  # as `python -m rasa_sdk --actions actions` does
    assert ActionExecutor.run is instrumentation.run
    return executor


def runs(action: str, outcome: str) -> float:
    return (
        observability.REGISTRY.get_sample_value(
            "supportdesk_action_runs_total", {"action": action, "outcome": outcome}
        )
        or 0.0
    )


def test_an_action_runs_under_the_messages_id_and_sends_it_to_the_backend(executor, backend_calls, caplog):
    caplog.set_level(logging.INFO)
    before = runs("action_lookup_order", "ok")
    result = asyncio.run(executor.run(action_call("action_lookup_order", {"request_id": "turn-99"})))
    assert any("1Z999AA10123456784" in (r.get("text") or "") for r in result["responses"])
    [call] = backend_calls
    assert call.url.path == "/api/v1/service/orders/ORD-100001"
    assert call.headers["X-Request-ID"] == "turn-99"
    [line] = [r for r in caplog.records if r.name == "actions.instrumentation"]
    assert line.request_id == "turn-99" and line.getMessage().startswith("action action_lookup_order: ok in")
    assert runs("action_lookup_order", "ok") == before + 1
    assert observability.current_request_id() is None  # nothing outlives the call


@pytest.mark.parametrize("metadata", [None, {}, {"request_id": "bad\nid"}, {"request_id": 7}])
def test_without_a_valid_id_no_header_is_sent(executor, backend_calls, metadata):
    asyncio.run(executor.run(action_call("action_lookup_order", metadata)))
    [call] = backend_calls
    assert "X-Request-ID" not in call.headers


def test_failed_backend_calls_and_unknown_actions_are_counted(executor, backend_calls):
    errors = observability.REGISTRY.get_sample_value
    labels = {"call": "orders", "kind": "http_error"}
    before_errors = errors("supportdesk_action_backend_errors_total", labels) or 0.0
    down = action_call("action_lookup_order", {"request_id": "turn-100"})
    down["tracker"]["slots"]["order_id"] = "ORD-500000"
    asyncio.run(executor.run(down))  # the action answers politely; the failure is still counted
    assert errors("supportdesk_action_backend_errors_total", labels) == before_errors + 1

    before = runs("unknown", "not_found")
    with pytest.raises(ActionNotFoundException):
        asyncio.run(executor.run(action_call("action_no_one_wrote", {"request_id": "turn-101"})))
    assert runs("unknown", "not_found") == before + 1  # a caller's name makes no series of its own


def test_the_metrics_are_served_on_the_configured_port(executor, backend_calls, monkeypatch):
    port = free_port()
    monkeypatch.setenv("ACTIONS_METRICS_PORT", str(port))
    monkeypatch.setattr(instrumentation, "_metrics_port", None)
    instrumentation.install()
    asyncio.run(executor.run(action_call("action_lookup_order", {"request_id": "turn-102"})))
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert 'supportdesk_action_runs_total{action="action_lookup_order",outcome="ok"}' in text
    assert 'supportdesk_action_duration_seconds_bucket{action="action_lookup_order",le="0.005"}' in text
    assert "supportdesk_action_backend_errors_total" in text
    instrumentation.install()  # a second install (auto-reload) starts no second server
    assert instrumentation._metrics_port == port


def test_json_format_reaches_the_handlers_rasa_set_up():
    root = logging.getLogger()
    handler = logging.StreamHandler()
    root.addHandler(handler)
    # pytest's own handlers are there too: they get their formats back afterwards.
    before = {h: h.formatter for h in root.handlers}
    try:
        format_existing_handlers("json")
        assert isinstance(handler.formatter, JsonFormatter)
        record = logging.getLogger("rasa.core").makeRecord("rasa.core", logging.INFO, "f", 1, "x", (), None)
        assert json.loads(handler.format(record))["request_id"] == "-"
    finally:
        root.removeHandler(handler)
        for each, formatter in before.items():
            each.setFormatter(formatter)
