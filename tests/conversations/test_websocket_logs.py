"""What a real uvicorn server logs for widget and inbox sockets: no bearer token in any line, and a customer
or an agent closing their socket (or the network dropping mid-turn) is not an error."""

import asyncio
import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
import websockets

from backend.auth.sockets import subprotocols
from backend.main import create_app
from tests.app_fixtures import ScriptedRasa
from tests.dbcheck import rows

# The log lines do not depend on the database.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
# How long the test waits for a turn to end: a liveness bound for a loaded machine, not a speed target.
LIVENESS_S = 30.0


@pytest.fixture
def uvicorn_loggers_as_shipped() -> Iterator[None]:
    """uvicorn's loggers as a process that never ran uvicorn has them. Another test's uvicorn.Config (with
    its default log_config or a log_level) leaves them configured for the rest of the process: "uvicorn"
    not propagating, "uvicorn.error" at WARNING, and the lines this test reads would never reach caplog."""
    loggers = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")]
    saved = [(lg.level, lg.propagate, list(lg.handlers), lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.NOTSET)
        lg.propagate, lg.handlers, lg.disabled = True, [], False
    yield
    for lg, (level, propagate, handlers, disabled) in zip(loggers, saved, strict=True):
        lg.setLevel(level)
        lg.propagate, lg.handlers, lg.disabled = propagate, handlers, disabled


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def until_answered(database_url: str, conversation_id: str, text: str) -> None:
    """Until the customer's message `text` has its bot replies stored; fails after a liveness bound."""
    query = "SELECT bot_status FROM messages WHERE conversation_id = :c AND sender = 'customer' AND text = :t"
    deadline = time.monotonic() + LIVENESS_S
    while [
        r["bot_status"] for r in await asyncio.to_thread(rows, database_url, query, c=conversation_id, t=text)
    ] != ["answered"]:
        assert time.monotonic() < deadline, f"the turn of {text!r} did not end within {LIVENESS_S} s"
        await asyncio.sleep(0.05)


async def turn(ws: websockets.ClientConnection, text: str, client_id: str) -> list[dict[str, Any]]:
    await ws.send(json.dumps({"type": "message", "text": text, "client_message_id": client_id}))
    frames = [json.loads(await asyncio.wait_for(ws.recv(), LIVENESS_S))]
    while frames[-1]["type"] != "ack":
        frames.append(json.loads(await asyncio.wait_for(ws.recv(), LIVENESS_S)))
    return frames


@pytest.mark.usefixtures("uvicorn_loggers_as_shipped")
async def test_sockets_log_no_token_and_a_closed_widget_is_no_error(settings, rasa: ScriptedRasa, caplog):
    async def slow_rasa(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.5)  # the customer is gone before the bot's replies are pushed
        return rasa.handle(request)

    app = create_app(settings, rasa_transport=httpx.MockTransport(slow_rasa))
    port = free_port()
    # log_config=None: uvicorn's loggers propagate to caplog's handler, and access lines are written (a
    # handler exists); uvicorn's own default configuration logs the same lines.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    caplog.set_level(logging.INFO)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the server did not start"
        await asyncio.sleep(0.05)
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            widget = (await http.post("/api/v1/widget/sessions", json={})).json()
            form = {"username": "alex@northwind.example", "password": "northwind-demo"}
            staff = (await http.post("/api/v1/auth/token", data=form)).json()["access_token"]
            history = f"/api/v1/widget/conversations/{widget['conversation_id']}/messages"
            bearer = {"Authorization": f"Bearer {widget['token']}"}
            assert (await http.get(history, headers=bearer)).is_success

        offered = subprotocols(widget["token"])
        async with websockets.connect(f"{ws_base}/ws/widget", subprotocols=offered) as ws:
            assert ws.subprotocol == "supportdesk"  # chosen by the server; the token is not echoed
            assert [f["type"] for f in await turn(ws, "hello", "m-1")][-1] == "ack"
        # The customer closes the widget mid-turn: the connection drops without a closing handshake.
        dropped = await websockets.connect(f"{ws_base}/ws/widget", subprotocols=offered)
        await dropped.send(json.dumps({"type": "message", "text": "bye", "client_message_id": "m-2"}))
        dropped.transport.abort()
        async with websockets.connect(f"{ws_base}/ws/agent", subprotocols=subprotocols(staff)) as inbox:
            await inbox.send("ping")  # ignored: the inbox only listens
        # A stale widget script puts the token in the URL: refused, and the log line does not show it.
        with pytest.raises(websockets.InvalidStatus):
            await websockets.connect(f"{ws_base}/ws/widget?token={widget['token']}")
        # The dropped turn ends: its replies are stored, then pushed to the closed socket (and fail). Waited
        # for by state, not a fixed 1.5 s that a loaded machine can overrun (the turn had not ended, and the
        # Rasa call below was not made yet); then a moment for the push that follows the store.
        await until_answered(settings.database_url, widget["conversation_id"], "bye")
        await asyncio.sleep(0.5)
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)

    lines = [record.getMessage() for record in caplog.records]
    assert any("WebSocket /ws/widget" in line and "[accepted]" in line for line in lines)
    assert any("/ws/widget?token=[redacted]" in line for line in lines)
    leaking = [line for line in lines if widget["token"] in line or staff in line]
    assert not leaking, leaking
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors
    assert rasa.calls and rasa.calls[-1]["message"] == "bye"  # the dropped customer's turn still ran
