"""The one small interface every producer of analytics events calls: `publish(event)`.

Producers are plain service functions (opening a case, resolving it, a rating) that have no app object, so the
running app connects its AnalyticsService here at start-up and disconnects it at shutdown. Publishing never
raises and never waits: the service applies the event to its in-memory windows (a few dictionary updates) and
writes the buckets later, in the background. With nothing connected (scripts, unit tests) events are dropped.
"""

import logging
from typing import Protocol

from backend.analytics.events import Event

log = logging.getLogger(__name__)


class Sink(Protocol):
    def apply(self, event: Event) -> None: ...


_sinks: list[Sink] = []


def connect(sink: Sink) -> None:
    _sinks.append(sink)


def disconnect(sink: Sink) -> None:
    if sink in _sinks:
        _sinks.remove(sink)


def publish(*events: Event) -> None:
    for sink in _sinks:
        for event in events:
            try:
                sink.apply(event)
            except Exception:  # analytics must never break or slow a turn
                log.exception("analytics: could not apply %s", event.kind)
