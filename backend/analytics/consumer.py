"""RabbitMQ consumer of Rasa's tracker events (Rasa's pika event broker, bot/endpoints.scaled.yml).

Rasa publishes every tracker event, as JSON with its `sender_id`, to the fanout exchange `rasa-exchange` bound
to the durable queue `rasa_events`. Every backend worker consumes the same queue (competing consumers: each
event reaches one worker) and turns each event into analytics events with events.from_rasa_event, the same
function the hub runs in process when RabbitMQ is not configured.

Delivery is at least once: messages are acknowledged (in one multiple-ack) only after the events they carried
are applied and the analytics buckets holding them are committed, so a worker that dies loses nothing; the
broker redelivers what it had not acknowledged. Counting is once: each message that carries figures is
recorded (a digest of its body) in the same commit as its buckets, and a redelivered message already recorded
is acknowledged without being counted again. One window is left: a redelivery that reaches another worker
while the first worker's commit is still in flight is counted by both. A message that is not JSON is rejected
without requeueing.
aio-pika's robust connection reconnects after a broker restart; a failed first connection is retried with
backoff, and the backend serves requests meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from typing import Protocol

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from backend.analytics import publisher
from backend.analytics.events import from_rasa_event
from backend.core.background import Background, raise_if_cancelling

log = logging.getLogger(__name__)

RASA_EXCHANGE = "rasa-exchange"  # rasa.core.brokers.pika.RABBITMQ_EXCHANGE
BATCH = 200  # messages applied before a commit and one acknowledgement
RETRY_S = (1, 2, 5, 10, 30)


class Ledger(Protocol):
    """Where applied events are committed (backend/analytics/service.py's AnalyticsService)."""

    async def flush(self) -> None: ...  # commits the applied events' buckets and the remembered keys

    def remember(self, key: str) -> None: ...

    async def applied_before(self, key: str) -> bool: ...


class RasaEventConsumer:
    def __init__(self, url: str, queue: str, ledger: Ledger, idle_commit_s: float = 0.5) -> None:
        self._url = url
        self._queue = queue
        self._ledger = ledger
        self._idle_commit_s = idle_commit_s
        self.loop = Background("rasa-event-consumer", self._run)
        self.consumed = 0  # messages applied
        self.duplicates = 0  # redelivered messages already counted, acknowledged without applying
        self.connected = asyncio.Event()
        self._last: AbstractIncomingMessage | None = None  # the latest applied, unacknowledged message
        self._applied = 0
        self._ack_lock = asyncio.Lock()

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    async def _run(self) -> None:
        attempt = 0
        while True:
            raise_if_cancelling()
            try:
                connection = await aio_pika.connect_robust(self._url)
                async with connection:
                    channel = await connection.channel()
                    await channel.set_qos(prefetch_count=BATCH * 2)
                    # Declared as Rasa declares them, so either side may start first.
                    exchange = await channel.declare_exchange(RASA_EXCHANGE, aio_pika.ExchangeType.FANOUT)
                    queue = await channel.declare_queue(self._queue, durable=True)
                    await queue.bind(exchange, "")
                    self.connected.set()
                    attempt = 0
                    self._last, self._applied = None, 0  # a new channel: old delivery tags mean nothing
                    await self._consume(queue)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker down or restarting: keep serving, try again
                # Closing the connection under a cancellation can fail with the broker's own error instead.
                raise_if_cancelling()
                self.connected.clear()
                delay = RETRY_S[min(attempt, len(RETRY_S) - 1)]
                log.warning("analytics consumer: RabbitMQ down (%r); retry in %ss", exc, delay, exc_info=True)
                attempt += 1
                await asyncio.sleep(delay)

    async def _consume(self, queue: AbstractQueue) -> None:
        """Apply each message as it arrives; commit and acknowledge every BATCH messages and when idle."""
        tag = await queue.consume(self._on_message)
        try:
            while True:
                raise_if_cancelling()
                await asyncio.sleep(self._idle_commit_s)
                await self._commit_and_ack()
        finally:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if await self._apply(message):
            self._last, self._applied = message, self._applied + 1
            if self._applied >= BATCH:
                await self._commit_and_ack()

    async def _commit_and_ack(self) -> None:
        async with self._ack_lock:
            last = self._last
            if last is None or not await self._committed():
                return
            # Messages applied while the commit ran may not be in it: only those up to `last` are acked.
            if self._last is last:
                self._last, self._applied = None, 0
            try:
                await last.ack(multiple=True)
            except Exception:  # the channel died: the broker redelivers them (at least once)
                log.warning("analytics consumer: could not acknowledge; redelivery follows", exc_info=True)

    async def _apply(self, message: AbstractIncomingMessage) -> bool:
        try:
            body = json.loads(message.body)
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            log.warning("analytics consumer: dropping a message that is not a Rasa event: %s", exc)
            await message.reject(requeue=False)
            return False
        events = from_rasa_event(body)
        if events:
            key = hashlib.sha256(message.body).hexdigest()
            if message.redelivered and await self._ledger.applied_before(key):
                self.duplicates += 1
                return True  # acknowledged with the others, not counted again
            publisher.publish(*events)
            self._ledger.remember(key)
        self.consumed += 1
        return True

    async def _committed(self) -> bool:
        started = time.perf_counter()
        try:
            await self._ledger.flush()
        except Exception:
            log.exception("analytics consumer: could not commit; acknowledging later")
            return False
        log.debug("analytics consumer: committed in %.3f s", time.perf_counter() - started)
        return True
