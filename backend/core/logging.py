"""Where the backend's log lines go, as text or JSON, and one line per HTTP request.

`configure_logging(log_format)` (LOG_FORMAT: `text` for a person at a terminal, `json` for a log shipper;
contract/observability.py defines both, shared with the Rasa server and the action server) runs in every
worker as the app is built:

- every record gets the `request_id` of the request or customer message it belongs to (correlation.py);
- when nothing else configured logging (no handler on the root or `backend` logger: uvicorn configures
  only its own loggers), the `backend` loggers print INFO and up to stderr in that format. A host that
  configured logging (pytest, an embedding application) keeps its own handlers;
- with `json`, uvicorn's own handlers (its start-up lines, its access log) print JSON too, so every line of
  the process parses; a logging configuration of the deployer's (`uvicorn --log-config`) is left alone.

`RequestLog` writes one line per HTTP request when it ends: method, route template (never the path itself,
which may hold ids or, from a stale widget, a token), status and duration, under the request's id. So a
customer message's id is found in the backend's log even for a turn that logged nothing else, beside the
action server's calls back to the service API, which carry the same id.
"""

import logging
import sys

from starlette.types import Scope

from backend.core.correlation import install_log_correlation
from backend.core.metrics import route_template
from backend.core.requests import ResponseObserver
from contract.observability import formatter

log = logging.getLogger("backend.requests")

# Probes and scrapes, every few seconds each: a line for each would bury the customers' requests.
QUIET_ROUTES = frozenset({"/health", "/metrics"})
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def configure_logging(log_format: str) -> None:
    """Idempotent: create_app may run many times in one process (tests), the last format wins."""
    install_log_correlation()
    chosen = formatter(log_format)
    backend, root = logging.getLogger("backend"), logging.getLogger()
    ours = [h for h in backend.handlers if getattr(h, "supportdesk", False)]
    if ours:
        ours[0].setFormatter(chosen)
    elif not backend.handlers and not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.supportdesk = True  # type: ignore[attr-defined]
        handler.setFormatter(chosen)
        backend.addHandler(handler)
        if backend.level == logging.NOTSET:  # the root's WARNING would drop the request lines
            backend.setLevel(logging.INFO)
    if log_format == "json":
        for name in UVICORN_LOGGERS:
            for handler in logging.getLogger(name).handlers:
                if type(handler.formatter).__module__ == "uvicorn.logging":  # uvicorn's default config
                    handler.setFormatter(chosen)


class RequestLog(ResponseObserver):
    """One INFO line per HTTP request, when its response is complete (or it failed)."""

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        if route in QUIET_ROUTES or not log.isEnabledFor(logging.INFO):
            return
        duration_ms = round(seconds * 1000, 1)
        method = scope["method"]
        log.info(
            "%s %s %d in %.1f ms",
            method,
            route,
            status,
            duration_ms,
            extra={"method": method, "route": route, "status": status, "duration_ms": duration_ms},
        )
