"""GET /metrics after real requests and real widget turns: the series operators alert on exist and move, the
correlation id reaches Rasa, and the alert rules and dashboard name only series the backend or the action
server defines."""

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import promql_parser
import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from actions import observability as action_metrics
from backend.auth.sockets import subprotocols
from backend.core import metrics
from backend.core.config import Settings
from backend.core.database import make_engine, make_sessionmaker
from backend.main import create_app
from tests.app_fixtures import SERVICE_HEADERS, ScriptedRasa

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "docker" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "docker" / "grafana" / "supportdesk-dashboard.json"

# The series are per process, not per database: SQLite is enough.
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def rasa_headers() -> list[httpx.Headers]:
    return []


@pytest.fixture
def client(settings: Settings, rasa: ScriptedRasa, rasa_headers: list[httpx.Headers]) -> Iterator[TestClient]:
    """The app with the scripted Rasa, which here also keeps the headers of every turn it was sent."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/webhook"):
            rasa_headers.append(request.headers)
        return rasa.handle(request)

    app = create_app(settings, rasa_transport=httpx.MockTransport(handle))
    with TestClient(app) as test_client:
        yield test_client


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def send(client: TestClient, widget: dict[str, str], text: str, **headers: str) -> httpx.Response:
    return client.post(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/messages",
        json={"text": text},
        headers={"Authorization": widget["auth"], **headers},
    )


MESSAGES_ROUTE = "/api/v1/widget/conversations/{conversation_id}/messages"


@SQLITE
def test_a_widget_turn_moves_the_turn_rasa_and_http_series(client, widget, rasa_headers):
    before = scrape(client)
    assert send(client, widget, "where is my order?").status_code == 200
    after = scrape(client)

    for histogram in ("supportdesk_widget_turn_seconds", "supportdesk_turn_seconds"):
        assert moved(before, after, f"{histogram}_count", outcome="answered") == 1
        assert moved(before, after, f"{histogram}_sum", outcome="answered") > 0
    replica = "http://rasa.test"
    assert moved(before, after, "supportdesk_rasa_requests_total", replica=replica, outcome="ok") == 1
    assert moved(before, after, "supportdesk_rasa_request_duration_seconds_count", replica=replica) == 1
    # Timed by route template: the conversation id never becomes a label value.
    labels = {"method": "POST", "route": MESSAGES_ROUTE, "status": "2xx"}
    assert moved(before, after, "supportdesk_http_request_duration_seconds_count", **labels) == 1
    assert not any(widget["conversation_id"] in str(key) for key in after)
    # The whole turn ends later than the customer-visible one (or at the same instant).
    whole = moved(before, after, "supportdesk_turn_seconds_sum", outcome="answered")
    visible = moved(before, after, "supportdesk_widget_turn_seconds_sum", outcome="answered")
    assert whole >= visible
    # The stages add up to the whole turn.
    stages = ("store", "rasa", "replies", "decide")
    assert all(moved(before, after, "supportdesk_turn_stage_seconds_count", stage=s) == 1 for s in stages)
    total = sum(moved(before, after, "supportdesk_turn_stage_seconds_sum", stage=s) for s in stages)
    assert total == pytest.approx(whole, abs=0.01)


@SQLITE
def test_unknown_paths_share_one_series_and_errors_are_classed(client):
    before = scrape(client)
    assert client.get(f"/no/such/{uuid.uuid4()}").status_code == 404
    assert client.post("/api/v1/widget/sessions", content=b"{").status_code == 422
    after = scrape(client)
    unmatched = {"method": "GET", "route": "unmatched", "status": "4xx"}
    assert moved(before, after, "supportdesk_http_request_duration_seconds_count", **unmatched) == 1
    refused = {"method": "POST", "route": "/api/v1/widget/sessions", "status": "4xx"}
    assert moved(before, after, "supportdesk_http_request_duration_seconds_count", **refused) == 1


@SQLITE
def test_rasa_down_counts_as_unreachable_and_a_holding_turn(client, widget, rasa):
    rasa.down = True
    before = scrape(client)
    assert send(client, widget, "is anyone there?").status_code == 200
    after = scrape(client)
    assert moved(
        before, after, "supportdesk_rasa_requests_total", replica="http://rasa.test", outcome="unreachable"
    )
    assert moved(before, after, "supportdesk_widget_turn_seconds_count", outcome="holding") == 1
    assert moved(before, after, "supportdesk_turn_seconds_count", outcome="holding") == 1
    assert moved(before, after, "supportdesk_widget_turn_seconds_count", outcome="answered") == 0
    # Nothing is decided after a holding reply.
    assert moved(before, after, "supportdesk_turn_stage_seconds_count", stage="rasa") == 1
    assert moved(before, after, "supportdesk_turn_stage_seconds_count", stage="decide") == 0


@SQLITE
def test_a_handoff_moves_the_counter_and_the_queue_gauges(client, widget):
    before = scrape(client)
    handoff = client.post(
        f"/api/v1/service/conversations/{widget['conversation_id']}/handoff",
        json={"reason": "customer asked for a person"},
        headers=SERVICE_HEADERS,
    )
    assert handoff.status_code == 200, handoff.text
    after = scrape(client)
    assert moved(before, after, "supportdesk_handoffs_total") == 1
    waiting = {labels: v for (name, labels), v in after.items() if name == "supportdesk_cases_waiting"}
    # No agent is online in the seeded demo, so the case waits; every known skill has a series (0 or more).
    assert sum(waiting.values()) >= 1
    assert frozenset({("skill", "general")}) in waiting
    oldest = [v for (name, _), v in after.items() if name == "supportdesk_case_oldest_wait_seconds"]
    assert max(oldest) >= 0


@SQLITE
def test_background_tasks_report_running(client):
    samples = scrape(client)
    running = {
        dict(labels)["task"]: v
        for (name, labels), v in samples.items()
        if name == "supportdesk_background_task_running"
    }
    loops = {loop.name for loop in client.app.state.background}
    assert loops and loops <= running.keys()
    assert all(running[name] == 1 for name in loops)


@SQLITE
def test_a_stopped_background_task_reports_zero(client):
    loop = client.app.state.dispatcher.loop
    client.portal.call(loop.stop)
    assert value(scrape(client), "supportdesk_background_task_running", task=loop.name) == 0


@SQLITE
def test_knowledge_searches_count_answered_and_not_sure(client):
    before = scrape(client)
    for q in ("how long does standard shipping take?", "qwzx vvkj plorb"):
        response = client.get("/api/v1/service/kb/search", params={"q": q}, headers=SERVICE_HEADERS)
        assert response.status_code == 200, response.text
    after = scrape(client)
    answered = moved(before, after, "supportdesk_kb_searches_total", outcome="answered")
    not_sure = moved(before, after, "supportdesk_kb_searches_total", outcome="not_sure")
    assert answered == 1 and not_sure == 1


# ----- correlation ids through a real turn -----


@SQLITE
def test_rest_turn_forwards_the_callers_request_id_to_rasa(client, widget, rasa_headers):
    response = send(client, widget, "hello", **{"X-Request-ID": "checkout-7f3a"})
    assert response.headers["X-Request-ID"] == "checkout-7f3a"
    assert [h["X-Request-ID"] for h in rasa_headers] == ["checkout-7f3a"]


@SQLITE
def test_a_bad_request_id_is_replaced_and_the_new_one_forwarded(client, widget, rasa_headers):
    response = send(client, widget, "hello", **{"X-Request-ID": "x" * 129})
    given = response.headers["X-Request-ID"]
    assert uuid.UUID(given).version == 4
    assert [h["X-Request-ID"] for h in rasa_headers] == [given]


@SQLITE
def test_the_request_id_is_on_the_log_records_of_its_turn(client, widget, rasa, caplog):
    rasa.down = True  # the hub logs a warning for the holding reply
    with caplog.at_level("WARNING", logger="backend"):
        send(client, widget, "hello?", **{"X-Request-ID": "turn-42"})
    holding = [r for r in caplog.records if "holding reply sent" in r.getMessage()]
    assert holding and all(r.request_id == "turn-42" for r in holding)


@SQLITE
def test_each_websocket_message_gets_its_own_request_id(client, widget, rasa_headers):
    with client.websocket_connect(
        "/ws/widget", subprotocols=subprotocols(widget["token"]), headers={"X-Request-ID": "socket-1"}
    ) as socket:
        for n in range(2):
            socket.send_json({"type": "message", "text": f"message {n}", "client_message_id": f"c-{n}"})
            while socket.receive_json()["type"] != "ack":
                pass
    ids = [h["X-Request-ID"] for h in rasa_headers]
    assert len(ids) == 2 and len(set(ids)) == 2 and "socket-1" not in ids
    assert all(uuid.UUID(i).version == 4 for i in ids)


@SQLITE
def test_metrics_can_be_switched_off(settings, rasa):
    app = create_app(settings.model_copy(update={"metrics_enabled": False}), httpx.MockTransport(rasa.handle))
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/health").headers["X-Request-ID"]  # correlation ids stay on


# ----- the alert rules and the dashboard -----


def defined_series() -> set[str]:
    """Every series name the backend and the action server expose (counters gain _total; histograms
    _bucket, _count, _sum)."""
    names: set[str] = set()
    for item in [*vars(metrics).values(), *vars(action_metrics).values()]:
        if isinstance(item, metrics.Counter):
            names.add(f"{item._name}_total")
        elif isinstance(item, metrics.Histogram):
            names.update(f"{item._name}_{suffix}" for suffix in ("bucket", "count", "sum"))
        elif isinstance(item, metrics.Gauge):
            names.add(item._name)
    return names


def alert_expressions() -> list[tuple[str, str]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [(rule["alert"], rule["expr"]) for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def series_in(expression: str) -> set[str]:
    """The metric names an expression selects, from its parsed syntax tree."""
    names: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        for child in ("expr", "lhs", "rhs", "vector_selector", "param"):
            sub = getattr(node, child, None)
            if sub is not None:
                visit(sub)
        for arg in getattr(node, "args", None) or []:
            visit(arg)

    # Grafana's interval variable is not PromQL; any duration stands in for it.
    visit(promql_parser.parse(expression.replace("$__rate_interval", "5m")))
    return names


def test_every_rule_and_panel_parses_and_names_defined_series():
    expressions = alert_expressions() + dashboard_expressions()
    assert len(expressions) > 10
    defined = defined_series() | {"up"}
    for where, expression in expressions:
        names = series_in(expression)
        assert names, f"{where}: selects no series"
        assert names <= defined, (
            f"{where}: {sorted(names - defined)} are not defined in backend/core/metrics.py or "
            "actions/observability.py"
        )


def test_the_required_alerts_exist():
    by_series = {name for _, expression in alert_expressions() for name in series_in(expression)}
    for needed in (
        "supportdesk_widget_turn_seconds_bucket",
        "supportdesk_rasa_requests_total",
        "supportdesk_case_oldest_wait_seconds",
        "supportdesk_cases_waiting",
        "supportdesk_background_task_running",
    ):
        assert needed in by_series


def test_a_misspelt_series_would_be_caught():
    # The check above is not vacuous: a wrong name and a broken expression both fail it.
    assert "supportdesk_turn_second_bucket" not in defined_series()
    assert series_in("rate(supportdesk_turn_second_bucket[5m])") == {"supportdesk_turn_second_bucket"}
    with pytest.raises(Exception):  # noqa: B017 - the parser raises its own error type
        promql_parser.parse("sum(rate(supportdesk_turn_seconds_bucket[5m])")


def test_the_dashboard_is_a_grafana_dashboard():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert {"h", "w", "x", "y"} <= panel["gridPos"].keys()
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["targets"] and all(re.fullmatch(r"[A-Z]", t["refId"]) for t in panel["targets"])


# ----- several workers (PROMETHEUS_MULTIPROC_DIR) -----

WORKER = """
import sys
from backend.core import metrics
metrics.HANDOFFS.inc()
metrics.BACKGROUND_TASK_RUNNING.labels("case-dispatcher").set(1)
metrics.CASES_WAITING.labels("billing").set(int(sys.argv[1]))
"""
SCRAPER = """
import sys
from backend.core import metrics
if sys.argv[1] == "forget":
    metrics.forget_dead_workers()
sys.stdout.write(metrics.exposition()[0].decode())
"""


def run_python(code: str, directory: Path, *args: str) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def parsed(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_workers_metrics_merge_in_multiprocess_mode(tmp_path):
    for waiting in ("3", "5"):  # two worker processes, one after the other
        run_python(WORKER, tmp_path, waiting)
    merged = parsed(run_python(SCRAPER, tmp_path, "keep"))
    assert value(merged, "supportdesk_handoffs_total") == 2  # counted by either worker: summed
    running = [v for (name, _), v in merged.items() if name == "supportdesk_background_task_running"]
    assert running == [1, 1]  # one series per worker process (a pid label)
    assert value(merged, "supportdesk_cases_waiting", skill="billing") == 5  # the most recent worker's value

    # Both workers are gone now: their per-worker gauges go, what they counted stays.
    forgotten = parsed(run_python(SCRAPER, tmp_path, "forget"))
    assert value(forgotten, "supportdesk_handoffs_total") == 2
    assert not [name for (name, _) in forgotten if name == "supportdesk_background_task_running"]


@SQLITE
def test_rate_limit_refusals_are_counted_by_rule(settings, rasa):
    limited = settings.model_copy(update={"rate_limit_sessions_per_ip": "1/minute"})
    with TestClient(create_app(limited, httpx.MockTransport(rasa.handle))) as client:
        before = scrape(client)
        statuses = [client.post("/api/v1/widget/sessions", json={}).status_code for _ in range(2)]
        assert statuses == [201, 429]
        after = scrape(client)
    assert moved(before, after, "supportdesk_rate_limit_refusals_total", rule="sessions_per_ip") == 1


@SQLITE
def test_rasa_replicas_are_probed_at_each_scrape(client, rasa):
    assert value(scrape(client), "supportdesk_rasa_replica_up", replica="http://rasa.test") == 1
    rasa.down = True
    assert value(scrape(client), "supportdesk_rasa_replica_up", replica="http://rasa.test") == 0


@SQLITE
def test_a_scrape_answers_while_the_database_is_away(client, tmp_path, caplog):
    before = scrape(client)
    client.app.state.sessions = make_sessionmaker(
        make_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
    )
    with caplog.at_level("WARNING", logger="backend.health.metrics"):
        after = scrape(client)
    assert any("could not read the case queue" in r.getMessage() for r in caplog.records)
    waiting = {key: v for key, v in before.items() if key[0] == "supportdesk_cases_waiting"}
    assert waiting and all(after[key] == v for key, v in waiting.items())  # the last values stand
