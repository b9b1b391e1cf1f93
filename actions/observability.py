"""The action server's correlation id and metrics: what actions/backend_client.py needs, importable without
rasa_sdk (the app venv imports the client for its contract tests); actions/instrumentation.py wraps rasa_sdk's
executor with them.

The Rasa channel (bot/channels/hub.py) put the backend's id in the message's metadata; Rasa sends the tracker
with every action call, so the id is `tracker.latest_message["metadata"]["request_id"]` (`request_id_of`).
While an action call runs, the id is in a context variable: every log record carries it and the client
sends it to the backend as X-Request-ID.

Metrics (Prometheus, `prometheus-client`) live in a registry of their own, served on ACTIONS_METRICS_PORT
(nlu/settings.py; unset: not served), so a process importing this module for tests exposes nothing it did
not ask for. rasa_sdk's default of one Sanic worker keeps them in one process.
"""

from __future__ import annotations

from contextvars import Token
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from contract.observability import HEADER, METADATA_KEY, REQUEST_ID, valid

REGISTRY = CollectorRegistry()
# An action mostly waits for the backend (ACTIONS_BACKEND_TIMEOUT_S, 5 s by default): fine steps below 0.25 s.
ACTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ACTION_RUNS = Counter(
    "supportdesk_action_runs",
    "Action calls by action and outcome: ok, rejected (a form's validation refused a slot), not_found "
    "(no such action: Rasa and the action server disagree), error (the action raised).",
    ["action", "outcome"],
    registry=REGISTRY,
)
ACTION_SECONDS = Histogram(
    "supportdesk_action_duration_seconds",
    "One action call, from the tracker's arrival to the events returned, whatever its outcome.",
    ["action"],
    buckets=ACTION_BUCKETS,
    registry=REGISTRY,
)
BACKEND_ERRORS = Counter(
    "supportdesk_action_backend_errors",
    "Calls to the backend's service API that gave no usable answer, by call (orders, handoff, kb_search, "
    "retention_offer) and kind: unreachable (no response, a timeout), http_error (an error status), "
    "bad_response (not the contract's JSON). The action then tells the customer politely.",
    ["call", "kind"],
    registry=REGISTRY,
)
UNKNOWN_ACTION = "unknown"  # a caller's name for no registered action must not become a series each

_request_id = REQUEST_ID  # the process's one id variable (contract/observability.py), read by log records


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(request_id: str | None) -> Token[str | None]:
    return _request_id.set(request_id)


def reset_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)


def request_id_headers() -> dict[str, str]:
    """The header that carries the current message's id to the backend; empty outside an action call."""
    request_id = _request_id.get()
    return {HEADER: request_id} if request_id else {}


def request_id_of(action_call: dict[str, Any]) -> str | None:
    """The id the Rasa channel put in the latest user message's metadata, if it is a valid one."""
    tracker = action_call.get("tracker")
    latest = tracker.get("latest_message") if isinstance(tracker, dict) else None
    metadata = latest.get("metadata") if isinstance(latest, dict) else None
    candidate = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    return candidate if isinstance(candidate, str) and valid(candidate) else None
