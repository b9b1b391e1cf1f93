"""Fan-out of conversation events to whoever is watching (widget tabs, agent inboxes) in this process."""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

Event = dict[str, Any]

# Topics: a conversation's id (its widget tabs), one per agent (their inbox), and the supervisors' queue view.
SUPERVISORS = "supervisors"


def agent_topic(agent_id: int) -> str:
    return f"agent:{agent_id}"


class Notifier:
    """In-process publish/subscribe keyed by topic (a conversation id, or "agents").

    A slow subscriber never blocks the message path: its queue is bounded and the oldest events are dropped;
    the widget re-reads the history from the API when it reconnects, so nothing is lost for good.
    """

    def __init__(self, queue_size: int = 256) -> None:
        self._queues: dict[str, set[asyncio.Queue[Event]]] = defaultdict(set)
        self._queue_size = queue_size

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
        for queue in list(self._queues.get(topic, ())):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)
