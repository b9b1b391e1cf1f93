"""Scale-out parts against real servers: the Redis notifier between two workers (the Redis server on loopback)
and the Rasa client's failover between replicas (real local HTTP servers that answer, refuse or die)."""

import asyncio
import inspect
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as aioredis

from backend.conversations.notifier import CHANNEL_PREFIX, Notifier, RedisNotifier, make_notifier
from backend.conversations.rasa_client import BotUnavailable, RasaClient
from backend.core.config import Settings

# The Redis server on loopback and real local HTTP servers: no fixture of tests/conftest.py says so.
pytestmark = pytest.mark.integration

REDIS_URL = "redis://127.0.0.1:6379/0"
SLOW_TURN_S = 5.0
# How long a test waits for Redis to relay or (un)subscribe: a liveness bound for a loaded machine, not a
# speed target (`make bench` measures speed). A passing wait returns as soon as the state holds.
LIVENESS_S = 30.0


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `check` until it holds; fail naming `what` after LIVENESS_S."""
    deadline = time.monotonic() + LIVENESS_S
    while not await check():
        assert time.monotonic() < deadline, f"not within {LIVENESS_S} s: {what}"
        await asyncio.sleep(0.02)


async def subscribers(topic: str) -> int:
    client = aioredis.from_url(REDIS_URL)
    try:
        [(_, count)] = await client.pubsub_numsub(CHANNEL_PREFIX + topic)
    finally:
        await client.aclose()
    return int(count)


# ---- Redis notifier ----------------------------------------------------------------------------------------
@pytest.fixture
async def workers() -> AsyncIterator[tuple[RedisNotifier, RedisNotifier]]:
    try:
        await aioredis.from_url(REDIS_URL).ping()
    except OSError as exc:
        pytest.fail(f"the Redis server on 127.0.0.1:6379 is needed: {exc}")
    a, b = RedisNotifier(REDIS_URL), RedisNotifier(REDIS_URL, queue_size=2)
    await a.start()
    await b.start()
    yield a, b
    await a.close()
    await b.close()


async def until_subscribed(topic: str, count: int = 1) -> None:
    # Before this held, the loop gave up after 2 s and went on: on a loaded machine the event published next
    # was lost (nobody subscribed yet) and the test failed waiting for it.
    async def subscribed() -> bool:
        return await subscribers(topic) >= count

    await eventually(subscribed, f"{count} Redis subscriber(s) of {topic}")


async def test_an_event_published_on_one_worker_reaches_a_socket_on_the_other(workers):
    a, b = workers
    topic = uuid.uuid4().hex
    async with a.subscribe(topic) as on_a, b.subscribe(topic) as on_b:
        await until_subscribed(topic, 2)
        a.publish(topic, {"n": 1})
        assert on_a.get_nowait() == {"n": 1}  # its own worker gets it at once, before publish returns
        assert await asyncio.wait_for(on_b.get(), LIVENESS_S) == {"n": 1}
        await asyncio.sleep(0.2)
        assert on_a.empty(), "the relayed copy must not come back to the publishing worker"


async def test_other_topics_are_not_delivered_and_order_is_kept(workers):
    a, b = workers
    mine, other = uuid.uuid4().hex, uuid.uuid4().hex
    async with b.subscribe(mine) as on_b:
        await until_subscribed(mine)
        a.publish(other, {"n": 0})
        a.publish(mine, {"n": 1})
        a.publish(mine, {"n": 2})
        assert await asyncio.wait_for(on_b.get(), LIVENESS_S) == {"n": 1}
        assert await asyncio.wait_for(on_b.get(), LIVENESS_S) == {"n": 2}


async def test_a_slow_subscriber_on_another_worker_drops_its_oldest_events(workers):
    a, b = workers  # b's queues hold 2 events
    topic = uuid.uuid4().hex
    async with b.subscribe(topic) as on_b:
        await until_subscribed(topic)
        for n in range(5):
            a.publish(topic, {"n": n})

        async def last_one_in() -> bool:
            return on_b.full() and on_b._queue[-1] == {"n": 4}  # type: ignore[attr-defined]

        await eventually(last_one_in, "the last event relayed into the full queue")
        assert [on_b.get_nowait()["n"] for _ in range(on_b.qsize())] == [3, 4]


async def test_leaving_the_last_socket_unsubscribes_the_worker(workers):
    _, b = workers
    topic = uuid.uuid4().hex
    async with b.subscribe(topic):
        await until_subscribed(topic)

    async def unsubscribed() -> bool:
        return await subscribers(topic) == 0

    await eventually(unsubscribed, f"no Redis subscriber of {topic} left")


async def test_publishing_never_waits_for_an_unreachable_redis():
    notifier = RedisNotifier("redis://127.0.0.1:1/0", outbox_size=3)
    await notifier.start()
    try:
        topic = uuid.uuid4().hex
        async with notifier.subscribe(topic) as local:
            # publish is a plain call, not a coroutine: it cannot wait for Redis, whatever the clock says (a
            # wall-clock bound here, < 50 ms, was a speed target that a loaded machine can overrun). What it
            # does instead: the events wait in the bounded outbox, the oldest dropped, and Redis is not
            # touched (the sender task cannot run between these calls: nothing here awaits).
            assert not inspect.iscoroutinefunction(notifier.publish)
            for n in range(10):
                assert notifier.publish(topic, {"n": n}) is None
            assert local.qsize() == 10 or local.full()  # local delivery works without Redis
            waiting = [json.loads(payload)["event"] for _, payload in notifier._outbox._queue]  # type: ignore[attr-defined]
            assert waiting == [{"n": 7}, {"n": 8}, {"n": 9}]
    finally:
        await notifier.close()


def test_the_redis_notifier_is_chosen_when_redis_url_is_set():
    assert type(make_notifier(Settings(redis_url=None))) is Notifier
    assert isinstance(make_notifier(Settings(redis_url=REDIS_URL)), RedisNotifier)


# ---- Rasa failover with real HTTP servers ------------------------------------------------------------------
@dataclass
class SharedTracker:
    """The tracker store both replicas share (PostgreSQL in the scaled setup)."""

    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class FakeReplica:
    """A real HTTP server on loopback that answers the hub webhook like Rasa, or dies like a killed one.

    mode: "answer"; "die" (reads the request, then drops the connection and stops listening, like kill -9
    before the tracker is saved); "die_after_saving" (saves the turn in the tracker first); "drop" (drops the
    connection but keeps listening: alive, the turn may still be running).
    """

    def __init__(self, tracker: SharedTracker, mode: str = "answer") -> None:
        self.tracker, self.mode = tracker, mode
        self.turns: list[dict[str, Any]] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                method, path, body = request
                if method == "POST":
                    self.turns.append(body)
                    if self.mode == "slow":
                        await asyncio.sleep(SLOW_TURN_S)
                        self.mode = "answer"
                    if self.mode not in ("answer", "slow"):
                        await self._fail(body, writer)
                        return
                    self._save_turn(body)
                    await _respond(writer, _answer(body))
                elif path.endswith("/tracker"):
                    conversation_id = path.split("/")[2]
                    await _respond(writer, {"events": self.tracker.events.get(conversation_id, [])})
                else:
                    await _respond(writer, {"status": "ok"})
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _fail(self, body: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        if self.mode == "die_after_saving":
            self._save_turn(body)
        writer.transport.abort()
        if self.mode in ("die", "die_after_saving"):
            await self.stop()

    def _save_turn(self, body: dict[str, Any]) -> None:
        self.tracker.events.setdefault(body["sender"], []).extend(
            [
                {"event": "user", "text": body["message"], "message_id": body["message_id"],
                 "parse_data": {"intent": {"name": "greet", "confidence": 0.9}}},
                {"event": "bot", "text": f"{self.port} says hi", "data": {"buttons": None, "custom": None}},
                {"event": "action", "name": "action_listen"},
            ]
        )  # fmt: skip


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    messages = [{"recipient_id": body["sender"], "text": "live answer"}]
    return {"messages": messages, "parse": {"intent": {"name": "greet", "confidence": 0.9}}}


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, Any]] | None:
    head = await reader.readuntil(b"\r\n\r\n")
    if not head:
        return None
    lines = head.decode().split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    length = int(headers.get("content-length", 0))
    body = json.loads(await reader.readexactly(length)) if length else {}
    return method, path, body


async def _respond(writer: asyncio.StreamWriter, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode()
    head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n"
    writer.write(head.encode() + data)
    await writer.drain()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed: connection refused


@pytest.fixture
async def replicas() -> AsyncIterator[tuple[SharedTracker, list[FakeReplica]]]:
    tracker = SharedTracker()
    started: list[FakeReplica] = []

    async def make(*modes: str) -> list[FakeReplica]:
        for mode in modes:
            replica = FakeReplica(tracker, mode)
            await replica.start()
            started.append(replica)
        return started

    yield tracker, make  # type: ignore[misc]
    for replica in started:
        await replica.stop()


async def test_a_replica_that_refuses_connections_is_skipped(replicas):
    _, make = replicas
    [alive] = await make("answer")
    client = RasaClient([f"http://127.0.0.1:{closed_port()}", alive.url], timeout_s=5)
    try:
        turns = [await client.send(f"c{n}", "hi", n, {}) for n in range(4)]
    finally:
        await client.close()
    assert all(turn.replies[0].text == "live answer" for turn in turns)
    assert len(alive.turns) == 4  # every turn answered exactly once, half of them after a refusal


async def test_turns_are_spread_over_the_replicas(replicas):
    _, make = replicas
    first, second = await make("answer", "answer")
    client = RasaClient([first.url, second.url], timeout_s=5)
    try:
        for n in range(6):
            await client.send(f"c{n}", "hi", n, {})
    finally:
        await client.close()
    assert len(first.turns) == len(second.turns) == 3


async def test_a_replica_killed_before_saving_the_turn_hands_it_to_the_next(replicas):
    tracker, make = replicas
    dying, alive = await make("die", "answer")
    client = RasaClient([dying.url, alive.url], timeout_s=5)
    try:
        turn = await client.send("c1", "hi", 41, {})
    finally:
        await client.close()
    assert turn.replies[0].text == "live answer"
    assert len(dying.turns) == len(alive.turns) == 1
    assert [e["message_id"] for e in tracker.events["c1"] if e["event"] == "user"] == ["41"]


async def test_a_turn_saved_before_the_replica_died_is_read_back_not_sent_again(replicas):
    tracker, make = replicas
    dying, alive = await make("die_after_saving", "answer")
    client = RasaClient([dying.url, alive.url], timeout_s=5)
    try:
        turn = await client.send("c1", "hi", 42, {})
    finally:
        await client.close()
    assert turn.replies[0].text == f"{dying.port} says hi"
    assert turn.parse["intent"]["name"] == "greet"
    assert alive.turns == []  # processed once, by the replica that died
    assert len([e for e in tracker.events["c1"] if e["event"] == "user"]) == 1


async def test_a_broken_connection_to_a_live_replica_is_not_resent(replicas):
    _, make = replicas
    flaky, other = await make("drop", "answer")
    client = RasaClient([flaky.url, other.url], timeout_s=5)
    try:
        with pytest.raises(BotUnavailable, match="alive"):
            await client.send("c1", "hi", 43, {})
    finally:
        await client.close()
    assert other.turns == []  # the turn may still run on the first replica: never twice


async def test_no_replica_reachable_is_bot_unavailable():
    client = RasaClient([f"http://127.0.0.1:{closed_port()}", f"http://127.0.0.1:{closed_port()}"], 2)
    try:
        with pytest.raises(BotUnavailable, match="no Rasa replica reachable"):
            await client.send("c1", "hi", 44, {})
        assert not await client.is_healthy()
    finally:
        await client.close()


async def test_recovering_a_turn_reads_a_finished_one_and_sends_an_unknown_one(replicas):
    _, make = replicas
    [alive] = await make("answer")
    client = RasaClient([alive.url], timeout_s=5)
    try:
        await client.send("c1", "hi", 45, {})
        again = await client.recover_or_send("c1", "hi", 45, {})
        fresh = await client.recover_or_send("c1", "and this?", 46, {})
    finally:
        await client.close()
    assert again.replies[0].text == f"{alive.port} says hi"  # from the tracker: Rasa is not asked twice
    assert fresh.replies[0].text == "live answer"
    assert [t["message_id"] for t in alive.turns] == ["45", "46"]


def test_settings_list_the_replicas():
    assert Settings(rasa_urls="http://a:5005/, http://b:5005").rasa_replicas == [
        "http://a:5005",
        "http://b:5005",
    ]
    assert Settings(rasa_url="http://only:5005", rasa_urls="").rasa_replicas == ["http://only:5005"]


async def test_a_busy_replica_gets_no_more_turns_than_allowed_and_the_rest_go_elsewhere(replicas):
    _, make = replicas
    busy, other = await make("slow", "answer")
    # One turn at a time per replica; a turn waits at most 6 / 2 = 3 s for the busy one, then goes on.
    client = RasaClient([busy.url, other.url], timeout_s=6, max_in_flight=1)
    try:
        turns = await asyncio.gather(*(client.send(f"c{n}", "hi", n, {}) for n in range(3)))
    finally:
        await client.close()
    assert [t.replies[0].text for t in turns] == ["live answer"] * 3
    assert len(busy.turns) == 1 and len(other.turns) == 2  # the waiting turn was never sent to the busy one
