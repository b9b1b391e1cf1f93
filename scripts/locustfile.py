"""Locust load test of the chat widget's paths, against any Supportdesk deployment (`--host`).

Simulated customers, like scripts/loadgen.py's typing customers: each opens a widget session
(POST /api/v1/widget/sessions), then holds a scripted conversation one turn at a time, pausing a seeded,
exponentially distributed think time (mean SUPPORTDESK_THINK_S, default 5 s, capped at 5x) between turns, and
opens a new session when the script ends. Two kinds, by weight:
  - WebSocketCustomer (4 of 5): /ws/widget with the token offered as a subprotocol (never in the URL), one
    "message" frame per turn; the request is timed from the send to the turn's ack, which the backend sends
    with the bot's replies (customer-visible latency). Like the widget, a dropped connection or a missing
    ack reconnects and re-sends the same client_message_id; the time counts from the first send.
  - RestCustomer (1 of 5): POST /api/v1/widget/conversations/{id}/messages, which returns after the whole
    turn (replies, hand-off decision and any hand-off notice): the whole-turn latency of the REST path.
Identified shoppers (CRM reads, churn scoring) need the deployment's identity secret: set
SUPPORTDESK_IDENTITY_SECRET and SUPPORTDESK_SHOPPERS (comma-separated `email=ORD-number` pairs: a customer and
an order of theirs, which they ask about) and SUPPORTDESK_IDENTIFIED_SHARE (default 0.3) of the customers open
identified sessions; without them every customer is anonymous. An anonymous visitor asks about the seed's demo
shopper's orders and gives that shopper's address (SUPPORTDESK_GUEST_ORDER_EMAIL) when the bot asks for the
order's e-mail.

    locust -f scripts/locustfile.py --host http://127.0.0.1:8000 --headless -u 50 -r 5 -t 2m \\
        --csv var/bench/locust

A deployment's per-address rate limits (RATE_LIMIT_SESSIONS_PER_IP, RATE_LIMIT_MESSAGES_PER_IP) apply to
all simulated customers at once when they come from one machine: raise them on the target, as `make
bench-locust` does for its private stack. Runs in its own venv (requirements/locust.txt: gevent and friends
stay out of the app's venv), so nothing here imports the backend.
"""

import contextlib
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import time
import uuid
from typing import Any

import websocket  # websocket-client, a locust dependency; gevent makes it cooperative
from locust import HttpUser, events, task

# The same conversations as scripts/loadgen.py's SCRIPTS (kept in step by hand: this file must not import the
# backend, and loadgen imports it).
GUEST_EMAIL_TURN = "{order_email}"
SCRIPTS = [
    ["hi", "where is my order ORD-100002?", GUEST_EMAIL_TURN, "thanks", "bye"],
    ["hello", "how do I reset my password?", "ok thank you"],
    ["I need a copy of my invoice", "thanks a lot"],
    ["my payment failed", "what should I do?", "great, thanks"],
    ["hey there", "what plans do you have?", "how much is the pro plan?", "bye"],
    ["my parcel is late", "ORD-100003", GUEST_EMAIL_TURN, "thank you"],
]
GUEST_ORDER_EMAIL = os.environ.get("SUPPORTDESK_GUEST_ORDER_EMAIL", "demo@northwind.example")
THINK_S = float(os.environ.get("SUPPORTDESK_THINK_S", "5.0"))
THINK_CAP = 5.0
TURN_TIMEOUT_S = 30.0
MESSAGE_GIVE_UP_S = 120.0
PROTOCOL, BEARER_PREFIX = "supportdesk", "bearer."  # backend/auth/sockets.py
IDENTITY_SECRET = os.environ.get("SUPPORTDESK_IDENTITY_SECRET", "")
SHOPPERS = [
    tuple(pair.strip().split("=", 1))
    for pair in os.environ.get("SUPPORTDESK_SHOPPERS", "").split(",")
    if "=" in pair
]
IDENTIFIED_SHARE = float(os.environ.get("SUPPORTDESK_IDENTIFIED_SHARE", "0.3"))
SEED = int(os.environ.get("SUPPORTDESK_SEED", "11"))
_numbers = itertools.count()  # each simulated customer's index, for its own seeded generator


def customer_script(script: list[str], own_order: str | None) -> list[str]:
    """As scripts/loadgen.py's: a shopper's own order, or a visitor's answer to the e-mail question."""
    if own_order is None:
        return [GUEST_ORDER_EMAIL if line == GUEST_EMAIL_TURN else line for line in script]
    return [re.sub(r"ORD-\d+", own_order, line) for line in script if line != GUEST_EMAIL_TURN]


def customer_hash(email: str, secret: str) -> str:
    """The host site's identity hash (the same HMAC as backend/auth/tokens.py's customer_hash)."""
    return hmac.new(secret.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


class _Customer(HttpUser):
    abstract = True

    def on_start(self) -> None:
        self.index = next(_numbers)
        self.rng = random.Random(SEED * 100_003 + self.index)
        self.script: list[str] = []
        self.session: dict[str, Any] | None = None
        body: dict[str, str] = {}
        self.own_order: str | None = None
        if (
            SHOPPERS
            and IDENTITY_SECRET
            and random.Random(SEED * 7_919 + self.index).random() < IDENTIFIED_SHARE
        ):
            email, self.own_order = SHOPPERS[self.index % len(SHOPPERS)]
            body = {"customer_email": email, "customer_hash": customer_hash(email, IDENTITY_SECRET)}
        self.session_body = body
        # Customers do not all arrive at once (loadgen does the same).
        time.sleep(self.rng.uniform(0, THINK_S))

    def wait_time(self) -> float:
        # As in loadgen: a think time between the turns of a conversation, none before the next conversation's
        # first turn (otherwise Locust would offer about a third fewer turns per second than the bench).
        if not self.script or THINK_S <= 0:
            return 0.0
        return min(self.rng.expovariate(1 / THINK_S), THINK_CAP * THINK_S)

    def _next_line(self) -> str:
        if not self.script:
            self._end_conversation()
            self.script = customer_script(self.rng.choice(SCRIPTS), self.own_order)
            response = self.client.post(
                "/api/v1/widget/sessions", json=self.session_body, name="open session (REST)"
            )
            response.raise_for_status()
            self.session = response.json()
        return self.script.pop(0)

    def _end_conversation(self) -> None:
        """Subclasses close what a conversation held open."""


class WebSocketCustomer(_Customer):
    weight = 4

    def on_start(self) -> None:
        super().on_start()
        self.ws: websocket.WebSocket | None = None

    def on_stop(self) -> None:
        self._end_conversation()

    def _end_conversation(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(OSError, websocket.WebSocketException):
                self.ws.close()
            self.ws = None

    def _connect(self) -> websocket.WebSocket:
        assert self.session is not None
        url = self.host.replace("http", "ws", 1).rstrip("/") + "/ws/widget"
        return websocket.create_connection(
            url, subprotocols=[PROTOCOL, BEARER_PREFIX + self.session["token"]], timeout=TURN_TIMEOUT_S
        )

    @task
    def turn(self) -> None:
        line = self._next_line()
        client_message_id = uuid.uuid4().hex
        frame = json.dumps({"type": "message", "text": line, "client_message_id": client_message_id})
        started = time.perf_counter()
        give_up_at = time.monotonic() + MESSAGE_GIVE_UP_S
        error: Exception | None = None
        attempts = 0
        while time.monotonic() < give_up_at:
            attempts += 1
            try:
                if self.ws is None:
                    self.ws = self._connect()
                self.ws.send(frame)
                if self._await_ack(client_message_id):
                    error = None
                else:
                    error = RuntimeError("refused with an error frame")
                break
            except (OSError, websocket.WebSocketException, TimeoutError) as exc:
                error = exc
                self._end_conversation()
                time.sleep(self.rng.uniform(0.5, 1.5))
        events.request.fire(
            request_type="WS",
            name="turn to ack (WebSocket)",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={"attempts": attempts},
        )
        if error is not None:
            self.script = []  # give the conversation up, as loadgen does

    def _await_ack(self, client_message_id: str) -> bool:
        assert self.ws is not None
        deadline = time.monotonic() + TURN_TIMEOUT_S
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            frame = json.loads(self.ws.recv())
            if frame.get("type") == "ack" and frame.get("client_message_id") == client_message_id:
                return True
            if frame.get("type") == "error":
                return False
        raise TimeoutError(f"no ack for {client_message_id}")


class RestCustomer(_Customer):
    weight = 1

    @task
    def turn(self) -> None:
        line = self._next_line()
        assert self.session is not None
        body = {"text": line, "client_message_id": uuid.uuid4().hex}
        # One attempt per request as locust reports it; a re-send keeps the client_message_id (stored once).
        with self.client.post(
            f"/api/v1/widget/conversations/{self.session['conversation_id']}/messages",
            json=body,
            headers={"Authorization": f"Bearer {self.session['token']}"},
            name="whole turn (REST)",
            timeout=TURN_TIMEOUT_S,
            catch_response=True,
        ) as response:
            if not response.ok:
                response.failure(f"HTTP {response.status_code}")
                self.script = []
