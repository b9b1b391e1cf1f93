"""The tracker a turn ended with, handed to the hub channel without reading it back from the tracker store.

The hub channel returns the parse of the customer's message with the replies. Reading the tracker back from
the store after the turn (a query, then every event of the conversation deserialized and replayed) was 3 ms
of a 27 ms turn. `install()` makes `MessageProcessor.save_tracker` also record the tracker it saved in a
context variable: the turn runs in the request's task, so the channel reads it there once the turn is over.
Rasa's own method still does the saving; a channel that finds no tracker recorded (another code path saved
it) falls back to the store.

Installed when Rasa imports this package's input channel (bot/credentials.yml loads `channels.hub`).
"""

from __future__ import annotations

from contextvars import ContextVar

from rasa.core.processor import MessageProcessor
from rasa.shared.core.trackers import DialogueStateTracker

# Rasa's own method, as imported (before install()).
RASA_SAVE_TRACKER = MessageProcessor.save_tracker

_saved: ContextVar[DialogueStateTracker | None] = ContextVar("supportdesk_saved_tracker", default=None)


async def save_tracker(processor: MessageProcessor, tracker: DialogueStateTracker) -> None:
    await RASA_SAVE_TRACKER(processor, tracker)
    _saved.set(tracker)


def forget() -> None:
    """Called by the channel before a turn, so a tracker from an earlier turn in this task is never used."""
    _saved.set(None)


def saved_tracker(sender_id: str) -> DialogueStateTracker | None:
    """The tracker this task's last turn saved, if it was this sender's."""
    tracker = _saved.get()
    return tracker if tracker is not None and tracker.sender_id == sender_id else None


def install() -> None:
    MessageProcessor.save_tracker = save_tracker  # type: ignore[method-assign]
