"""How a WebSocket client presents its token: in the Sec-WebSocket-Protocol header, never in the URL.

A URL's query string is written to access logs (uvicorn's, a proxy's) and a bearer token there lets whoever
reads them post as the customer or act as the agent. Browsers cannot set an Authorization header on a
WebSocket, but they can offer subprotocols, which no access log prints: the client offers PROTOCOL and
"bearer.<token>" (`new WebSocket(url, ["supportdesk", "bearer." + token])`), and the server selects PROTOCOL,
so the token is never echoed back either. A JWT is made of characters a subprotocol name may hold.

A token in the URL is refused, not accepted for a transition: the widget and inbox scripts are served by
this backend and change with it, and accepting the old form would keep writing tokens into the logs. A
stale cached script may still send one for a while, and uvicorn logs the URL before the app can refuse it:
`redact_tokens_in_server_logs` masks it in uvicorn's log lines.
"""

import logging
import re

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from backend.auth.tokens import InvalidToken

PROTOCOL = "supportdesk"
BEARER_PREFIX = "bearer."
# A socket ended from the client's side (widget closed, network gone) surfaces as either of these: the
# first from a receive or a failed send, the second from any call after the server saw the disconnect.
CLOSED = (WebSocketDisconnect, WebSocketDisconnected)


def subprotocols(token: str) -> list[str]:
    """What a client offers to authenticate with `token` (tests and scripts; the browser does the same)."""
    return [PROTOCOL, BEARER_PREFIX + token]


def offered_token(websocket: WebSocket) -> str:
    """The bearer token the client offered as a subprotocol; InvalidToken says what to do otherwise."""
    if "token" in websocket.query_params:
        raise InvalidToken(f"no token in the URL (it is logged): offer subprotocols {PROTOCOL}, bearer.<tok>")
    offered = list(websocket.scope.get("subprotocols") or [])
    tokens = [p.removeprefix(BEARER_PREFIX) for p in offered if p.startswith(BEARER_PREFIX)]
    if PROTOCOL not in offered or len(tokens) != 1:
        raise InvalidToken(f"offer the subprotocols {PROTOCOL} and bearer.<token>")
    return tokens[0]


TOKEN_IN_URL = re.compile(r"(?<=[?&]token=)[^&\s\"]+")
# uvicorn logs WebSocket handshakes (with the query string) to uvicorn.error, HTTP requests to uvicorn.access.
SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error")


class RedactTokens(logging.Filter):
    """Replaces the value of a `token=` query parameter in a log record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = TOKEN_IN_URL.sub("[redacted]", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                TOKEN_IN_URL.sub("[redacted]", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def redact_tokens_in_server_logs() -> None:
    """Install RedactTokens on uvicorn's loggers, once (create_app may run many times in a process)."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
