"""Rate limits: widget sessions per address, customer messages per conversation and per address (REST and
WebSocket), staff sign-ins per address and failed sign-ins per account; shared between workers via Redis."""

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient
from pydantic import ValidationError
from pyrate_limiter import Rate
from redis.exceptions import RedisError

from backend.auth.sockets import subprotocols
from backend.core.config import Settings
from backend.core.ratelimit import REDIS_PREFIX, RateLimiter, parse_rate
from backend.main import create_app
from tests.app_fixtures import ScriptedRasa
from tests.security.conftest import open_widget, security_settings

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def limited(
    tmp_path: Path, seeded_sqlite: Path, seeded_kb_index: Path
) -> Iterator[Callable[..., TestClient]]:
    """Starts an app with the tight limits a test names, e.g. limited(rate_limit_logins_per_ip="3/minute")."""
    with ExitStack() as running:

        def start(**limits: str) -> TestClient:
            app = create_app(
                security_settings(tmp_path, seeded_sqlite, seeded_kb_index, **limits),
                rasa_transport=httpx.MockTransport(ScriptedRasa().handle),
            )
            return running.enter_context(TestClient(app))

        yield start


def assert_limited(response: httpx.Response, words: str) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert words in response.json()["detail"]


@pytest.mark.parametrize(
    ("text", "limit", "interval_ms"),
    [
        ("20/minute", 20, 60_000),
        ("10 per 15 minutes", 10, 900_000),
        ("5/second", 5, 1000),
        ("2/Hour", 2, 3_600_000),
    ],
)
def test_rates_are_read_from_words(text, limit, interval_ms):
    rate = parse_rate(text)
    assert (rate.limit, rate.interval) == (limit, interval_ms)


@pytest.mark.parametrize("text", ["", "fast", "0/minute", "10/fortnight", "-1/second", "10 per 0 minutes"])
def test_a_malformed_rate_setting_stops_the_app_at_start_with_its_name(text):
    with pytest.raises(ValidationError, match="rate_limit_messages_per_ip"):
        Settings(rate_limit_messages_per_ip=text)


@pytest.mark.integration  # `limited` starts an app on a migrated database
def test_widget_sessions_are_limited_per_address(limited):
    client = limited(rate_limit_sessions_per_ip="3/minute")
    for _ in range(3):
        open_widget(client)
    assert_limited(client.post("/api/v1/widget/sessions", json={}), "too many new chat sessions")


@pytest.mark.integration  # `limited` starts an app on a migrated database
def test_messages_are_limited_per_conversation_and_a_refused_one_is_not_stored(limited):
    client = limited(rate_limit_messages_per_conversation="2/minute")
    a, b = open_widget(client), open_widget(client)

    def send(widget: dict[str, str], text: str) -> httpx.Response:
        url = f"/api/v1/widget/conversations/{widget['conversation_id']}/messages"
        return client.post(url, json={"text": text}, headers={"Authorization": f"Bearer {widget['token']}"})

    assert send(a, "one").status_code == 200 and send(a, "two").status_code == 200
    assert_limited(send(a, "three"), "too many messages in this conversation")
    assert send(b, "another conversation has its own budget").status_code == 200
    history = client.get(
        f"/api/v1/widget/conversations/{a['conversation_id']}/messages",
        headers={"Authorization": f"Bearer {a['token']}"},
    ).json()
    assert [m["text"] for m in history if m["sender"] == "customer"] == ["one", "two"]


@pytest.mark.integration  # `limited` starts an app on a migrated database
def test_messages_are_limited_per_address_across_conversations(limited):
    client = limited(rate_limit_messages_per_ip="3/minute")
    widgets = [open_widget(client) for _ in range(4)]
    codes = [
        client.post(
            f"/api/v1/widget/conversations/{w['conversation_id']}/messages",
            json={"text": "hello"},
            headers={"Authorization": f"Bearer {w['token']}"},
        ).status_code
        for w in widgets
    ]
    assert codes == [200, 200, 200, 429]


@pytest.mark.integration  # `limited` starts an app on a migrated database
def test_a_websocket_frame_over_the_limit_gets_an_error_frame_and_the_socket_stays_open(limited):
    client = limited(rate_limit_messages_per_conversation="2/minute")
    widget = open_widget(client)
    with client.websocket_connect("/ws/widget", subprotocols=subprotocols(widget["token"])) as ws:

        def answer(frame: str) -> dict:
            ws.send_text(frame)
            while True:  # message echoes and bot replies arrive too; wait for this frame's answer
                reply = ws.receive_json()
                if reply["type"] in ("ack", "error"):
                    return reply

        def send(client_id: str) -> dict:
            return answer(
                json.dumps({"type": "message", "text": f"hi {client_id}", "client_message_id": client_id})
            )

        assert send("m1")["type"] == "ack" and send("m2")["type"] == "ack"
        refused = send("m3")
        assert refused["type"] == "error" and refused["code"] == "rate_limited"
        assert refused["retry_after"] >= 1 and "too many messages in this conversation" in refused["detail"]
        # Still open: the next frame is answered.
        assert answer("not json")["code"] == "invalid_json"
    history = client.get(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/messages",
        headers={"Authorization": f"Bearer {widget['token']}"},
    ).json()
    assert [m["client_message_id"] for m in history if m["sender"] == "customer"] == ["m1", "m2"]


@pytest.mark.integration  # `limited` starts an app on a migrated database
def test_sign_in_attempts_are_limited_per_address(limited):
    client = limited(rate_limit_logins_per_ip="3/minute")
    for _ in range(3):
        response = client.post("/api/v1/auth/token", data={"username": "a@b.c", "password": "guess"})
        assert response.status_code == 401
    assert_limited(
        client.post(
            "/api/v1/auth/token", data={"username": "alex@northwind.example", "password": "northwind-demo"}
        ),
        "too many sign-in attempts from this address",
    )


@pytest.mark.integration  # `limited` starts an app on a migrated database
def test_failed_sign_ins_lock_the_account_but_not_the_others(limited):
    client = limited(rate_limit_failed_logins_per_account="2/minute")

    def sign_in(email: str, password: str) -> httpx.Response:
        return client.post("/api/v1/auth/token", data={"username": email, "password": password})

    # Successful sign-ins cost nothing; failures do.
    for _ in range(3):
        assert sign_in("alex@northwind.example", "northwind-demo").status_code == 200
    assert sign_in("alex@northwind.example", "wrong").status_code == 401
    assert sign_in("ALEX@northwind.example", "wrong again").status_code == 401
    assert_limited(sign_in("alex@northwind.example", "northwind-demo"), "too many failed sign-ins")
    assert sign_in("priya@northwind.example", "northwind-demo").status_code == 200


async def test_workers_share_their_limits_through_redis():
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except RedisError as exc:
        pytest.fail(f"the Redis server on 127.0.0.1:6379 is needed: {exc}")
    rates = {"messages_per_conversation": Rate(3, 60_000)}
    first = RateLimiter(rates, aioredis.from_url(REDIS_URL))  # type: ignore[arg-type]
    second = RateLimiter(rates, aioredis.from_url(REDIS_URL))  # type: ignore[arg-type]
    conversation = uuid.uuid4().hex
    try:
        assert await first.hit("messages_per_conversation", conversation) is None
        assert await second.hit("messages_per_conversation", conversation) is None
        assert await first.hit("messages_per_conversation", conversation) is None
        refusal = await second.hit("messages_per_conversation", conversation)
        assert refusal is not None and refusal.retry_after_s >= 1
        key = f"{REDIS_PREFIX}:messages_per_conversation:{conversation}"
        assert 0 < await client.pttl(key) <= 2 * 60_000  # counters expire on their own
    finally:
        await first.close()
        await second.close()
        await client.aclose()


async def test_an_unreachable_redis_lets_requests_through():
    limiter = RateLimiter({"logins_per_ip": Rate(1, 60_000)}, aioredis.from_url("redis://127.0.0.1:1/0"))
    try:
        assert await limiter.hit("logins_per_ip", "10.0.0.1") is None
        assert await limiter.hit("logins_per_ip", "10.0.0.1") is None
    finally:
        await limiter.close()
