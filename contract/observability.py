"""What the backend, the Rasa server and the action server agree on to follow one customer message through
their logs: the id's header and metadata key, which ids are accepted, and the shape of a log line.

Standard library only, and Python 3.10 syntax: the backend (3.11) and the Rasa side (3.10, Rasa's pins)
both import it, so the three processes log the same JSON fields and accept the same ids.

The id's journey: the backend sends it to Rasa in the `X-Request-ID` header; the Rasa channel copies it into
the message's metadata under `request_id`, which Rasa keeps on the tracker's latest message and so hands to
the action server with every action call; the action server sends it back in `X-Request-ID` on its calls
to the backend's service API.
"""

from __future__ import annotations

import json
import logging
import uuid
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

HEADER = "X-Request-ID"
METADATA_KEY = "request_id"  # in a UserMessage's metadata, and so in tracker.latest_message["metadata"]
MAX_LENGTH = 128
NONE = "-"  # the request_id of a log record made outside any message

# The id of the request or customer message this task is handling, in whichever of the three processes; the
# backend's middleware, the Rasa channel and the action server's executor set it for the work they run.
REQUEST_ID: ContextVar[str | None] = ContextVar("supportdesk_request_id", default=None)

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

# Every attribute logging.LogRecord sets itself; anything else on a record came from `extra=` and is logged
# as a field of its own in JSON. (uvicorn's `color_message` is its message again, with terminal colours.)
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
    "color_message",
}


def valid(candidate: str | None) -> bool:
    """Printable ASCII (space to tilde), 1 to 128 characters: safe to echo in a header and a log line."""
    if candidate is None or not 0 < len(candidate) <= MAX_LENGTH:
        return False
    return all(" " <= c <= "~" for c in candidate)


def new_id() -> str:
    return str(uuid.uuid4())


def accepted_or_new(candidate: object) -> str:
    return candidate if isinstance(candidate, str) and valid(candidate) else new_id()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601 with milliseconds), level, logger, message, request_id,
    the fields passed in `extra=`, and the exception's traceback when there is one.

    A log shipper (Loki, Elasticsearch, CloudWatch) then indexes request_id as a field, so one query finds
    a customer message's lines in every process; a multi-line traceback stays inside its line's string.
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or NONE,
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # default=str: an extra that is no JSON value (a path, a datetime) is logged as its text, not lost.
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT, for a person reading a terminal or a log file; `[-]` on a record made without an id
    (a record factory other than ours, a library's logger set up before it)."""

    def __init__(self, fmt: str = TEXT_FORMAT) -> None:
        super().__init__(fmt)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = NONE
        return super().format(record)


def formatter(log_format: str) -> logging.Formatter:
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    return JsonFormatter() if log_format == "json" else TextFormatter()


def current_request_id() -> str | None:
    return REQUEST_ID.get()


def install_record_factory() -> None:
    """Give every log record of this process `request_id` (REQUEST_ID's, or "-" outside a message); once.

    A record factory rather than a `logging.Filter`: a filter on a logger misses records propagated from
    child loggers, and one on a handler misses handlers added later; the factory runs for every record, in
    the context that logs it, so the id is the one of the message being handled."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "adds_request_id", False):
        return

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = REQUEST_ID.get() or NONE
        return record

    make.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make)


def format_existing_handlers(log_format: str) -> None:
    """Give the handlers Rasa and rasa_sdk installed before our code was imported our format.

    Both set up logging themselves (coloredlogs on the root logger; Sanic its own handlers) and import the
    channel and the actions afterwards, so this re-formats what is there instead of adding a handler, which
    would print every line twice. Text changes only the root's handlers, where Rasa's and our lines go
    (Sanic's access lines need their own fields); JSON changes every handler, so each line parses."""
    chosen = formatter(log_format)
    loggers = [logging.getLogger()]
    if log_format == "json":
        loggers += [
            each for each in logging.Logger.manager.loggerDict.values() if isinstance(each, logging.Logger)
        ]
    for each in loggers:
        for handler in each.handlers:
            handler.setFormatter(chosen)
