"""Prometheus metrics of a backend worker: what an operator alerts on, defined once, moved by the domains.

The domains import the metric objects from here (core stands on no domain) and move them where the fact
happens: the hub times turns, the Rasa client counts its calls, the background loops report whether they run,
the knowledge search counts "not sure" answers. `GET /metrics` (backend/health/metrics.py) exposes them.

Several workers (`uvicorn --workers N`, scripts/scaled.py, the Docker image): each worker is its own process
with its own counters, and a scrape reaches only one of them. With PROMETHEUS_MULTIPROC_DIR set (an empty
directory, wiped before the workers start), prometheus_client keeps every worker's values in files there and
`exposition()` merges them, so one scrape shows the whole backend. The variable must be set before this module
is imported (prometheus_client picks its storage at import). Gauges say how they merge: a per-worker fact
(is this worker's loop running) keeps one series per worker (`liveall`, with a `pid` label); a fact about the
whole system (cases waiting) takes the most recent worker's value.
"""

import os
import re
import time
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import Scope

from backend.core.requests import ResponseObserver

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Turns and requests: fine steps around the 150 ms p95 target, coarse ones up to the 10 s Rasa timeout.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUEST_SECONDS = Histogram(
    "supportdesk_http_request_duration_seconds",
    "HTTP requests by method, route template and status class, from the first byte in to the last out.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
WIDGET_TURN_SECONDS = Histogram(
    "supportdesk_widget_turn_seconds",
    "Customer-visible turn: the message's arrival at the hub (its store included) to the bot's replies "
    "stored and sent; outcome answered or holding (Rasa unavailable).",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
)
TURN_SECONDS = Histogram(
    "supportdesk_turn_seconds",
    "Whole turn: the message's arrival to the end of the hand-off decision and escalation scoring "
    "(the conversation's lock is held until then); outcome answered or holding.",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
)
TURN_STAGE_SECONDS = Histogram(
    "supportdesk_turn_stage_seconds",
    "A bot turn's stages: store (arrival to the message committed, the conversation's lock included), rasa "
    "(the call, waiting for a connection included), replies (stored and sent), decide (hand-off decision "
    "and escalation scoring).",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
RASA_REQUESTS = Counter(
    "supportdesk_rasa_requests",
    "Turns sent to a Rasa replica, by outcome: ok, http_error, unreachable (never sent), busy (no free "
    "connection in time), broken (connection lost after sending), timeout, cancelled (the turn's time "
    "ran out).",
    ["replica", "outcome"],
)
RASA_REQUEST_SECONDS = Histogram(
    "supportdesk_rasa_request_duration_seconds",
    "One turn's call to a Rasa replica, whatever its outcome.",
    ["replica"],
    buckets=LATENCY_BUCKETS,
)
RASA_REPLICA_UP = Gauge(
    "supportdesk_rasa_replica_up",
    "1 if the Rasa replica answered its health probe at the last scrape, else 0.",
    ["replica"],
    multiprocess_mode="livemostrecent",
)
HANDOFFS = Counter("supportdesk_handoffs", "Conversations handed over to humans (a case opened).")
SLA_BREACHES = Counter("supportdesk_sla_breaches", "Cases flagged past their first-response deadline.")
CASES_RESOLVED = Counter("supportdesk_cases_resolved", "Cases resolved by an agent.")
CASES_WAITING = Gauge(
    "supportdesk_cases_waiting",
    "Cases no agent has accepted yet (queued or offered), by skill; read from the database at each scrape.",
    ["skill"],
    multiprocess_mode="livemostrecent",
)
CASE_OLDEST_WAIT_SECONDS = Gauge(
    "supportdesk_case_oldest_wait_seconds",
    "How long the longest-waiting unaccepted case has waited since its hand-off, by skill (0: none).",
    ["skill"],
    multiprocess_mode="livemostrecent",
)
BACKGROUND_TASK_RUNNING = Gauge(
    "supportdesk_background_task_running",
    "1 while this worker's background task runs, 0 once it stopped or crashed.",
    ["task"],
    multiprocess_mode="liveall",
)
BACKGROUND_TASK_FAILURES = Counter(
    "supportdesk_background_task_failures",
    "Failed rounds of a background loop (retried next round) and crashes of a background task.",
    ["task"],
)
RATE_LIMIT_REFUSALS = Counter(
    "supportdesk_rate_limit_refusals",
    "Requests and widget frames refused by a rate limit (429 or an error frame), by rule.",
    ["rule"],
)
KB_SEARCHES = Counter(
    "supportdesk_kb_searches",
    "Knowledge searches, by outcome: answered (the top article is confident enough) or not_sure.",
    ["outcome"],
)
# Decision scores: probabilities (hand-off, knowledge confidence, churn risk) in fine steps up to 1, a case's
# priority (tens to hundreds of points) in coarse ones above.
SCORE_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 2.5, 5, 10, 25, 50, 100, 250)
DECISIONS = Counter(
    "supportdesk_decisions",
    "Decisions logged (backend/decisions/service.py record), by kind, action and the version that decided "
    "(model, policy or rules); a per-agent or per-value action counts under its prefix (agent, priority).",
    ["kind", "action", "version"],
)
DECISION_SCORES = Histogram(
    "supportdesk_decision_score",
    "The score each decision acted on, by kind: hand-off probability, knowledge confidence, churn risk, "
    "case priority.",
    ["kind"],
    buckets=SCORE_BUCKETS,
)
DECISION_FALLBACKS = Counter(
    "supportdesk_decision_fallbacks",
    "Decisions the rules took because the chosen model could not: reason deadline (it missed its time "
    "budget), error (it raised), unloaded (its file could not be loaded), other.",
    ["kind", "reason"],
)


# An action or version naming one agent or one value would make a series each: counted under its prefix.
_PER_ENTITY = re.compile(r"^(agent):\d+$|^(priority) \S+$")
LABEL_MAX = 64


def decision_label(value: str) -> str:
    """A decision's action or version as a label of bounded cardinality."""
    entity = _PER_ENTITY.match(value)
    if entity:
        return entity.group(1) or entity.group(2)
    return value[:LABEL_MAX]


def fallback_reason(fallback: str) -> str:
    """The kind of a fallback's free-text reason (backend/handoff/policy.py and the hub write them)."""
    if "deadline" in fallback:
        return "deadline"
    if "could not be loaded" in fallback:
        return "unloaded"
    if "failed" in fallback:
        return "error"
    return "other"


def observe_decision(kind: str, action: str, version: str, score: float | None, fallback: str | None) -> None:
    """Count one decision as it is recorded (its transaction may still roll back: rare, and then retried)."""
    DECISIONS.labels(kind, decision_label(action), decision_label(version)).inc()
    if score is not None:
        DECISION_SCORES.labels(kind).observe(score)
    if fallback:
        DECISION_FALLBACKS.labels(kind, fallback_reason(fallback)).inc()


class Stopwatch:
    """Observes the consecutive stages of one piece of work into a histogram labelled by stage."""

    def __init__(self, histogram: Histogram, started: float) -> None:
        self._histogram = histogram
        self._last = started  # a time.monotonic() reading

    def lap(self, stage: str) -> None:
        now = time.monotonic()
        self._histogram.labels(stage).observe(now - self._last)
        self._last = now


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric (merged over all workers in multiprocess mode), and its type."""
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def forget_dead_workers() -> None:
    """Drop the per-worker gauges of worker processes that died (uvicorn replaces a killed worker), so a dead
    worker's last "running" does not hide that its replacement's loop is down. Counters stay: what a dead
    worker counted still happened."""
    directory = multiprocess_dir()
    if directory is None:
        return
    for path in directory.glob("gauge_live*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), str(directory))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


UNMATCHED = "unmatched"  # no route: a scanner's random paths must not each become a series


class HttpMetrics(ResponseObserver):
    """Times every HTTP request by its route template (`/api/v1/cases/{case_id}`, never the id itself)."""

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        labels = (scope["method"], route_template(scope), f"{status // 100}xx")
        HTTP_REQUEST_SECONDS.labels(*labels).observe(seconds)


def route_template(scope: Scope) -> str:
    """The matched route's path template; the router leaves the route in the scope it was given."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED
