"""One customer message, one correlation id, in the logs of all three processes (issue 20).

A stack of its own, as deployed for a log shipper: LOG_FORMAT=json in every process and the action server's
metrics on a port. A widget message asking for an order's status runs through the backend, the Rasa server
(the hub channel) and the action server, whose order look-up calls the backend's service API back; the
caller's X-Request-ID must be the `request_id` of JSON lines in each process's log, the backend's line of
the action server's call included.
"""

import asyncio
import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.auth.tokens import customer_hash
from scripts.stack import Stack, StackConfig
from tests.dbcheck import rows
from tests.e2e.test_message_path import say
from tests.stack import ARTIFACTS, free_port

pytestmark = pytest.mark.e2e

IDENTITY_SECRET = "e2e-identity-secret"
LOG_DIR = ARTIFACTS / "e2e-logs-correlation"
MESSAGES_ROUTE = "/api/v1/widget/conversations/{conversation_id}/messages"
ORDER_ROUTE = "/api/v1/service/orders/{order_id}"


@pytest.fixture(scope="module")
def json_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("stack-correlation")
    shutil.rmtree(LOG_DIR, ignore_errors=True)  # this run's lines only
    config = StackConfig(
        database_url=f"sqlite:///{work / 'supportdesk.db'}",
        backend_port=free_port(),
        rasa_port=free_port(),
        action_port=free_port(),
        log_dir=LOG_DIR,
        rasa_tracker_db=work / "tracker.db",
        extra_env={
            "ENVIRONMENT": "production",
            "SERVICE_TOKEN": "e2e-service-token",
            "SECRET_KEY": "e2e-secret-key-of-at-least-32-bytes",
            "IDENTITY_SECRET": IDENTITY_SECRET,
            "KB_INDEX_DIR": str(work / "kb_index"),
            "RISK_MODEL_DIR": str(work / "risk_models"),
            "LOG_FORMAT": "json",
            "ACTIONS_METRICS_PORT": str(free_port()),
        },
    )
    stack = Stack(config)
    stack.prepare_database()
    stack.start()
    try:
        stack.wait_healthy(timeout_s=300)
        yield stack
    finally:
        stack.stop()


def json_lines(log: Path) -> list[dict[str, Any]]:
    """The log's JSON lines; other output (TensorFlow's C++ warnings, a library's print) is skipped."""
    parsed = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                parsed.append(json.loads(line))
            except ValueError:
                continue
    return parsed


def lines_with(stack: Stack, process: str, request_id: str) -> list[dict[str, Any]]:
    log = stack.config.log_dir / f"{process}.log"
    return [line for line in json_lines(log) if line.get("request_id") == request_id]


def open_session(stack: Stack) -> dict[str, Any]:
    email = "demo@northwind.example"
    return httpx.post(
        f"{stack.config.url(stack.config.backend_port)}/api/v1/widget/sessions",
        json={"customer_email": email, "customer_hash": customer_hash(email, IDENTITY_SECRET)},
    ).json()


def test_one_message_has_one_id_in_the_backend_rasa_and_action_server_logs(json_stack: Stack):
    stack = json_stack
    base = stack.config.url(stack.config.backend_port)
    session = open_session(stack)
    [order] = rows(
        stack.config.database_url, "SELECT tracking_number FROM orders WHERE order_number = 'ORD-100001'"
    )
    request_id = f"e2e-{uuid.uuid4()}"

    response = httpx.post(
        f"{base}/api/v1/widget/conversations/{session['conversation_id']}/messages",
        json={"text": "where is my order ORD-100001?"},
        headers={"Authorization": f"Bearer {session['token']}", "X-Request-ID": request_id},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-ID"] == request_id
    # The tracking number is only in the backend's database: the action server really called it back.
    assert order["tracking_number"] in " ".join(r["text"] for r in response.json()["replies"])

    # Each process writes its line as the work ends (the backend's after the response went out).
    deadline = time.monotonic() + 60  # liveness: each process writes its line as its work ends
    while True:
        found = {name: lines_with(stack, name, request_id) for name in ("backend", "rasa", "actions")}
        backend_routes = {line.get("route") for line in found["backend"]}
        actions = {line.get("action") for line in found["actions"]}
        complete = (
            {MESSAGES_ROUTE, ORDER_ROUTE} <= backend_routes
            and any(line["logger"] == "channels.hub" for line in found["rasa"])
            and "action_lookup_order" in actions
        )
        if complete or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    # The order's route is the action server's call back: its line carries the id the channel passed on.
    assert {MESSAGES_ROUTE, ORDER_ROUTE} <= backend_routes, found["backend"]
    assert any(line["logger"] == "channels.hub" for line in found["rasa"]), found["rasa"]
    assert "action_lookup_order" in actions, found["actions"]
    for name, lines in found.items():
        for line in lines:
            assert {"time", "level", "logger", "message"} <= line.keys(), (name, line)

    # The action server's metrics counted the look-up.
    port = stack.config.extra_env["ACTIONS_METRICS_PORT"]
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert 'supportdesk_action_runs_total{action="action_lookup_order",outcome="ok"} 1.0' in metrics


def test_each_socket_message_has_its_own_id_in_the_backend_and_rasa_logs(json_stack: Stack):
    """On the widget's socket the backend makes each message's id: the hub's line of the turn names it, and
    the Rasa channel logged the same turn under the same id."""
    stack = json_stack
    session = open_session(stack)
    conversation = session["conversation_id"]
    asyncio.run(say(stack, session, ["hello there", "thanks, bye"]))

    def turns(process: str, needle: str) -> list[dict[str, Any]]:
        log = stack.config.log_dir / f"{process}.log"
        return [line for line in json_lines(log) if needle in line["message"]]

    deadline = time.monotonic() + 60  # liveness: each process writes its line as its work ends
    while len(hub_lines := turns("backend", f"conversation {conversation}: message")) < 2:
        assert time.monotonic() < deadline, hub_lines
        time.sleep(0.5)
    ids = [line["request_id"] for line in hub_lines]
    assert len(set(ids)) == 2 and "-" not in ids, hub_lines  # one id per message, not per connection
    assert [line["conversation_id"] for line in hub_lines] == [conversation] * 2
    rasa_ids = [line["request_id"] for line in turns("rasa", f"turn of conversation {conversation}:")]
    assert rasa_ids == ids
