"""Fan-out of conversation events to whoever is watching (widget tabs, agent inboxes).

`Notifier` delivers within one process (one backend worker). With several workers a widget's socket and the
agent who answers it can sit on different workers, so `RedisNotifier` relays every event through Redis
pub/sub as well; `make_notifier` picks it when REDIS_URL is set.
"""

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from backend.core.background import Background, raise_if_cancelling, stop_all
from backend.core.config import Settings

Event = dict[str, Any]
T = TypeVar("T")
log = logging.getLogger(__name__)

# Topics: a conversation's id (its widget tabs), one per agent (their inbox), and the supervisors' queue view.
SUPERVISORS = "supervisors"
CHANNEL_PREFIX = "supportdesk:events:"
RECONNECT_PAUSE_S = 1.0


def agent_topic(agent_id: int) -> str:
    return f"agent:{agent_id}"


def offer(queue: asyncio.Queue[T], item: T) -> None:
    """Put without waiting; a full queue drops its oldest item (its reader is too slow)."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(item)


class Notifier:
    """In-process publish/subscribe keyed by topic (a conversation id, or "agents").

    A slow subscriber never blocks the message path: its queue is bounded and the oldest events are dropped;
    the widget re-reads the history from the API when it reconnects, so nothing is lost for good.
    """

    loops: tuple[Background, ...] = ()  # none in process

    def __init__(self, queue_size: int = 256) -> None:
        self._queues: dict[str, set[asyncio.Queue[Event]]] = defaultdict(set)
        self._queue_size = queue_size

    async def start(self) -> None:
        """Nothing to connect to in process."""

    async def close(self) -> None:
        """Nothing to disconnect in process."""

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        self._queues[topic].add(queue)
        try:
            yield queue
        finally:
            self._queues[topic].discard(queue)
            if not self._queues[topic]:
                del self._queues[topic]

    def publish(self, topic: str, event: Event) -> None:
        self._deliver_here(topic, event)

    def _deliver_here(self, topic: str, event: Event) -> None:
        for queue in list(self._queues.get(topic, ())):
            offer(queue, event)


class RedisNotifier(Notifier):
    """The in-process notifier plus a relay through Redis pub/sub to the other backend workers.

    Subscribers on the publishing worker get an event at once, in publish order, exactly as with `Notifier`
    (so a widget still sees a turn's replies before its ack); the copy sent through Redis carries this
    worker's origin id, and this worker skips it when it comes back. A worker subscribes in Redis only to the
    topics it has local subscribers for. `publish` never waits for Redis: events wait in a bounded outbox
    (the oldest dropped when full) that a background task sends, so a slow or absent Redis costs live
    updates on other workers, never a customer message.
    """

    def __init__(self, url: str, queue_size: int = 256, outbox_size: int = 10_000) -> None:
        super().__init__(queue_size)
        self._redis = aioredis.from_url(url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._origin = uuid.uuid4().hex
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue(outbox_size)
        self.loops = (
            Background("notifier-send", self._send_loop),
            Background("notifier-receive", self._receive_loop),
        )

    async def start(self) -> None:
        for loop in self.loops:
            loop.start()

    async def close(self) -> None:
        await stop_all(self.loops)
        await self._pubsub.aclose()
        await self._redis.aclose()

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue[Event]]:
        async with super().subscribe(topic) as queue:
            if len(self._queues[topic]) == 1:
                await self._change_subscription(self._pubsub.subscribe, topic)
            yield queue
        if topic not in self._queues:
            await self._change_subscription(self._pubsub.unsubscribe, topic)

    def publish(self, topic: str, event: Event) -> None:
        self._deliver_here(topic, event)
        payload = json.dumps({"origin": self._origin, "topic": topic, "event": event})
        offer(self._outbox, (CHANNEL_PREFIX + topic, payload))

    async def _change_subscription(self, change: Callable[[str], Awaitable[Any]], topic: str) -> None:
        try:
            await change(CHANNEL_PREFIX + topic)
        except (RedisError, OSError) as exc:
            # Local delivery still works; events from other workers for this topic are missed until the
            # socket reconnects (the widget then re-reads its history).
            log.warning("notifier: Redis (un)subscribe of %s failed: %s", topic, exc)

    async def _send_loop(self) -> None:
        while True:
            raise_if_cancelling()
            channel, payload = await self._outbox.get()
            try:
                await self._redis.publish(channel, payload)
            except (RedisError, OSError) as exc:
                log.warning("notifier: event not relayed to other workers (Redis unreachable): %s", exc)

    async def _receive_loop(self) -> None:
        while True:
            raise_if_cancelling()
            try:
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    continue
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except (RedisError, OSError) as exc:
                # redis-py reconnects and re-subscribes every channel on the next read.
                log.warning("notifier: Redis connection lost, retrying: %s", exc)
                await asyncio.sleep(RECONNECT_PAUSE_S)
                continue
            if message is not None and message.get("type") == "message":
                self._relay_in(message["data"])

    def _relay_in(self, data: bytes | str) -> None:
        try:
            envelope = json.loads(data)
        except ValueError:
            log.warning("notifier: ignored a malformed relayed event")
            return
        if envelope.get("origin") != self._origin:
            self._deliver_here(str(envelope.get("topic")), envelope.get("event") or {})


def make_notifier(settings: Settings) -> Notifier:
    """Redis pub/sub when REDIS_URL is set (several workers), in process otherwise."""
    return RedisNotifier(settings.redis_url) if settings.redis_url else Notifier()
