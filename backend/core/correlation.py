"""Correlation ids: one id per request (and per widget message on the WebSocket), in every log line it causes.

`CorrelationId` (pure ASGI middleware) takes the caller's `X-Request-ID` if it is printable ASCII of at most
128 characters (a proxy's or a load balancer's id, so the same id runs through their logs too), else makes
a uuid4; keeps it in a context variable for the request's task, and returns it in the response's
`X-Request-ID`. A WebSocket connection gets one for its handshake; each customer message on it gets its own
(`new_request_id()`), since one connection carries a whole conversation.

Every log record gets the id as `record.request_id` ("-" outside a request). A record factory does that
rather than a `logging.Filter`: a filter on a logger misses records propagated from child loggers, and one on
a handler misses handlers added later (a log shipper's, pytest's); the factory runs for every record, in the
context that logs it, so the id is the one of the request being served. `request_id_headers()` is what
outgoing calls (the Rasa client) send on.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contract.observability import HEADER, REQUEST_ID, TEXT_FORMAT, accepted_or_new, install_record_factory
from contract.observability import MAX_LENGTH as MAX_LENGTH  # re-exported: callers of this module use them
from contract.observability import NONE as NONE
from contract.observability import new_id as new_id
from contract.observability import valid as valid

# The header, the accepted ids and the text log format are shared with the Rasa side (contract/).
LOG_FORMAT = TEXT_FORMAT

_request_id = REQUEST_ID  # the process's one id variable, which the record factory reads


def current() -> str | None:
    return _request_id.get()


@contextmanager
def new_request_id(candidate: str | None = None) -> Iterator[str]:
    """Run the block under `candidate` (if valid) or a new id, then restore the one before."""
    request_id = accepted_or_new(candidate)
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)


def request_id_headers() -> dict[str, str]:
    """The header that carries the current id to another service; empty outside a request."""
    request_id = current()
    return {HEADER: request_id} if request_id else {}


def _header(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name.lower() == b"x-request-id":
            # latin-1 maps every byte to one character, so non-ASCII bytes fail valid() instead of raising.
            return value.decode("latin-1")
    return None


class CorrelationId:
    """Sets the request's id for everything it runs, and echoes it in the response's X-Request-ID."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        with new_request_id(_header(scope)) as request_id:
            header = (HEADER.lower().encode(), request_id.encode())

            async def send_with_id(message: Message) -> None:
                if message["type"] in ("http.response.start", "websocket.accept"):
                    headers = [h for h in message.get("headers") or [] if h[0].lower() != header[0]]
                    message = {**message, "headers": [*headers, header]}
                await send(message)

            await self.app(scope, receive, send_with_id)


def install_log_correlation() -> None:
    """Give every log record a `request_id`; once per process, whatever else configures logging.
    (Where the backend's lines go, and as text or JSON, is backend/core/logging.py's `configure_logging`.)"""
    install_record_factory()
