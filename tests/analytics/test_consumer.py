"""The RabbitMQ consumer against the real broker on loopback: Rasa-shaped tracker events in, figures out.

Each test uses its own uniquely named queue and deletes it afterwards. Prints the consumer's throughput.
"""

import asyncio
import json
import time
import uuid
from pathlib import Path

import aio_pika
import pytest

from backend.analytics import publisher
from backend.analytics.consumer import RasaEventConsumer
from backend.analytics.service import AnalyticsService
from backend.core.config import Settings
from backend.core.database import make_engine, make_sessionmaker, utcnow
from tests.conftest import migrate
from tests.dbcheck import rows

# The RabbitMQ server on loopback and a migrated database: no fixture of tests/conftest.py says so.
pytestmark = pytest.mark.integration

AMQP = "amqp://guest:guest@127.0.0.1:5672/"
INTENTS = ["order_status", "complaint", "billing_question"]


def tracker_events(conversation: str, turn: int, at: float) -> list[dict]:
    """One turn as Rasa's pika broker publishes it: every event of the tracker, with sender_id."""
    intent = INTENTS[turn % 3]
    label = "negative" if intent == "complaint" else "neutral"
    return [
        {"sender_id": conversation, "event": "action", "timestamp": at, "name": "action_session_start"},
        {"sender_id": conversation, "event": "session_started", "timestamp": at},
        {"sender_id": conversation, "event": "user", "timestamp": at, "text": "hi", "input_channel": "hub",
         "message_id": str(turn), "parse_data": {"intent": {"name": intent, "confidence": 0.9},
         "entities": [], "sentiment": {"label": label, "score": 0.8, "confidence": 0.8}}},
        {"sender_id": conversation, "event": "action", "timestamp": at, "name": "utter_answer"},
        {"sender_id": conversation, "event": "bot", "timestamp": at, "text": "Here you go", "data": {}},
        {"sender_id": conversation, "event": "bot", "timestamp": at, "text": None, "data": {"custom": {}}},
        {"sender_id": conversation, "event": "action", "timestamp": at, "name": "action_listen"},
    ]  # fmt: skip


@pytest.fixture
async def rabbit():
    try:
        connection = await aio_pika.connect(AMQP, timeout=5)
    except Exception as exc:  # noqa: BLE001 - the reason is in the failure message
        pytest.fail(f"RabbitMQ is not reachable at {AMQP}: {exc!r}")
    queue = f"test_rasa_events_{uuid.uuid4().hex[:10]}"
    yield connection, queue
    channel = await connection.channel()
    await channel.queue_delete(queue)
    await connection.close()


@pytest.fixture
async def analytics(database_url: str):
    url = database_url
    settings = Settings(database_url=url, analytics_flush_interval_s=0.2)
    engine = make_engine(settings.async_database_url)
    service = AnalyticsService(make_sessionmaker(engine), settings)
    await service.start()
    yield service, url
    await service.stop()
    await engine.dispose()


async def publish(connection: aio_pika.abc.AbstractConnection, queue: str, bodies: list[bytes]) -> None:
    channel = await connection.channel()
    await channel.declare_queue(queue, durable=True)
    for body in bodies:
        await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue)
    await channel.close()


async def until(predicate, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_rasa_tracker_events_from_rabbitmq_become_the_windows_figures(rabbit, analytics):
    connection, queue = rabbit
    service, url = analytics
    now = utcnow().timestamp()
    events = [e for c in range(20) for t in range(3) for e in tracker_events(f"conv{c}", t, now)]
    bodies = [json.dumps(e).encode() for e in events] + [b"not json", b"[1, 2]"]
    await publish(connection, queue, bodies)
    consumer = RasaEventConsumer(AMQP, queue, service, idle_commit_s=0.1)
    consumer.start()
    try:
        await until(lambda: consumer.consumed == len(events))
        figures = service.summary("1h")
        assert (
            figures["messages"] == 60 and figures["bot_replies"] == 60
        )  # the custom-only payload is no reply
        assert figures["intent_mix"] == {"billing_question": 20, "complaint": 20, "order_status": 20}
        assert figures["negative_share"] == pytest.approx(1 / 3)
        assert figures["handoffs"] == 0 and figures["conversations"] == 0  # backend facts, not Rasa's
        # Acknowledged only once committed: the buckets are in the database and the queue is empty.
        await until(lambda: rows(url, "SELECT SUM(count) AS n FROM analytics_buckets WHERE metric='message'")
                    [0]["n"] == 60)  # fmt: skip
        channel = await connection.channel()

        async def queue_length() -> int:
            declared = await channel.declare_queue(queue, durable=True, passive=True)
            return declared.declaration_result.message_count

        deadline = time.monotonic() + 30  # liveness: the acknowledgements follow the commit
        while (left := await queue_length()) != 0:
            assert time.monotonic() < deadline, f"{left} events still unacknowledged"
            await asyncio.sleep(0.05)
    finally:
        await consumer.stop()


class NeverAcknowledges:
    """The service's ledger, but the consumer's own commit always fails, so it never acknowledges: what a
    worker sees when its channel dies between the commit and the acknowledgement (the service's periodic
    flush still commits the applied events, as a real worker's would)."""

    def __init__(self, service: AnalyticsService) -> None:
        self._service = service

    async def flush(self) -> None:
        raise RuntimeError("channel gone before the acknowledgement")

    def remember(self, key: str) -> None:
        self._service.remember(key)

    async def applied_before(self, key: str) -> bool:
        return await self._service.applied_before(key)


async def test_unacknowledged_events_are_redelivered_after_a_crash(rabbit, analytics):
    """A consumer that never acknowledges; the next consumer gets the events again."""
    connection, queue = rabbit
    service, url = analytics
    now = utcnow().timestamp()
    await publish(connection, queue, [json.dumps(e).encode() for e in tracker_events("c", 0, now)])
    failing = RasaEventConsumer(AMQP, queue, NeverAcknowledges(service), idle_commit_s=0.05)
    failing.start()
    await until(lambda: failing.consumed == 7)
    await failing.stop()  # dies without having acknowledged anything
    await service.flush()  # its applied events were committed all the same
    healthy = RasaEventConsumer(AMQP, queue, service, idle_commit_s=0.05)
    healthy.start()
    try:
        # All 7 come again; the user message and the reply were counted already, the other 5 carry nothing.
        await until(lambda: healthy.consumed + healthy.duplicates == 7)
    finally:
        await healthy.stop()
    assert healthy.duplicates == 2
    figures = service.summary("1h")
    assert figures["messages"] == 1 and figures["bot_replies"] == 1
    counted = rows(
        url, "SELECT metric, SUM(count) AS n FROM analytics_buckets GROUP BY metric ORDER BY metric"
    )
    assert [(r["metric"], r["n"]) for r in counted] == [("bot_reply", 1), ("message", 1), ("sentiment", 1)]


async def test_a_redelivery_not_yet_counted_is_counted(rabbit, analytics, tmp_path: Path):
    """The other side of the ledger: a consumer that died before anything was committed leaves nothing
    recorded, so the redelivered events are counted, once."""
    connection, queue = rabbit
    now = utcnow().timestamp()
    await publish(connection, queue, [json.dumps(e).encode() for e in tracker_events("c", 0, now)])
    settings_url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    migrate(settings_url)
    engine = make_engine(Settings(database_url=settings_url).async_database_url)
    elsewhere = AnalyticsService(make_sessionmaker(engine), Settings(database_url=settings_url))
    service, url = analytics
    # Another worker's process: its events reach its own service only (the publisher is per process).
    publisher.disconnect(service)
    publisher.connect(elsewhere)
    failing = RasaEventConsumer(AMQP, queue, NeverAcknowledges(elsewhere), idle_commit_s=0.05)
    failing.start()
    try:
        await until(lambda: failing.consumed == 7)
    finally:
        await failing.stop()  # dies before anything of it was committed
        publisher.disconnect(elsewhere)
        publisher.connect(service)
        await engine.dispose()
    healthy = RasaEventConsumer(AMQP, queue, service, idle_commit_s=0.05)
    healthy.start()
    try:
        await until(lambda: healthy.consumed == 7)
    finally:
        await healthy.stop()
    assert healthy.duplicates == 0
    await service.flush()
    assert rows(url, "SELECT SUM(count) AS n FROM analytics_buckets WHERE metric='message'")[0]["n"] == 1


async def test_consumer_throughput(rabbit, analytics, capsys):
    connection, queue = rabbit
    service, _ = analytics
    now = utcnow().timestamp()
    events = [e for c in range(300) for t in range(3) for e in tracker_events(f"c{c}", t, now)]  # 6,300
    await publish(connection, queue, [json.dumps(e).encode() for e in events])
    consumer = RasaEventConsumer(AMQP, queue, service, idle_commit_s=0.1)
    started = time.perf_counter()
    consumer.start()
    try:
        try:
            await until(lambda: consumer.consumed + consumer.duplicates >= len(events), timeout_s=120)
        finally:
            elapsed = time.perf_counter() - started
            print(f"\nconsumed {consumer.consumed} of {len(events)} in {elapsed:.1f} s")
    finally:
        await consumer.stop()
    # A redelivery (a lost connection on a loaded machine) is applied again only if it carries no figures.
    assert consumer.consumed >= len(events) - consumer.duplicates
    figures = service.summary("1h")
    assert figures["messages"] == 900 and figures["bot_replies"] == 900
    with capsys.disabled():
        rate = len(events) / elapsed
        print(f"\nanalytics consumer: {len(events)} Rasa events in {elapsed:.2f} s = {rate:,.0f} events/s")
