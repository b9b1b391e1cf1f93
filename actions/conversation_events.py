"""What the bot said before the customer's latest message, read from the events Rasa stores.

The tracker the action server gets holds every event, rewound ones included (a message the two-stage fallback
rewinds was still seen by the customer), so both readings below count them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def last_seen_bot_message(events: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The last bot message before the customer's latest message."""
    before_latest_user = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            before_latest_user = True
        elif kind == "bot" and before_latest_user:
            return event
    return None


def last_reply(events: Sequence[dict[str, Any]]) -> list[str]:
    """The texts of the bot's whole reply to the customer's previous message (between it and the latest)."""
    said: list[str] = []
    users = 0
    for event in reversed(events):
        if event.get("event") == "user":
            users += 1
            if users == 2:
                break
        elif event.get("event") == "bot" and users == 1 and event.get("text"):
            said.append(event["text"])
    return said
