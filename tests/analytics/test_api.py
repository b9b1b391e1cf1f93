"""The analytics API on SQLite and PostgreSQL: real traffic through the app, figures from the windows."""

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from backend.analytics import publisher
from backend.core.config import Settings
from backend.main import create_app
from tests.app_fixtures import SERVICE_HEADERS, staff_headers
from tests.dbcheck import rows

SUPERVISOR, AGENT = "jordan@northwind.example", "alex@northwind.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Route at once; end idle conversations after a second, and sync buckets often, so the test is quick.
    return settings.model_copy(
        update={"routing_interval_s": 0.05, "analytics_idle_end_s": 1, "analytics_flush_interval_s": 0.2}
    )


def wait_for(predicate, timeout_s: float = 30.0):
    """`predicate`'s first truthy value; `timeout_s` is a liveness bound (background loops' own clocks)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def summary(client: TestClient, headers: dict, window: str = "1h") -> dict:
    response = client.get(f"/api/v1/analytics/summary?window={window}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def separate_processes(second: TestClient) -> None:
    """Two apps in one test process share the module-level publisher; real workers are separate processes.
    Disconnecting the second app's analytics leaves it only the shared buckets to learn the first's events."""
    publisher.disconnect(second.app.state.analytics)


def bucket_total(database_url: str, metric: str) -> int | None:
    sql = "SELECT SUM(count) AS n FROM analytics_buckets WHERE metric = :m"
    return rows(database_url, sql, m=metric)[0]["n"]


def handled_by_an_agent(client: TestClient, widget: dict) -> None:
    """Three messages to the bot, a hand-off, the agent's reply, resolution and a 4-star rating."""
    auth = {"Authorization": widget["auth"]}
    for text in ("where is my order", "it is late", "still nothing"):
        url = f"/api/v1/widget/conversations/{widget['conversation_id']}/messages"
        assert client.post(url, json={"text": text}, headers=auth).status_code == 200
    alex = staff_headers(client, AGENT)
    client.put("/api/v1/agents/me/status", json={"status": "online"}, headers=alex)
    handoff = f"/api/v1/service/conversations/{widget['conversation_id']}/handoff"
    case_id = client.post(handoff, json={"reason": "asked for a person"}, headers=SERVICE_HEADERS).json()[
        "case_id"
    ]
    status = "SELECT status FROM cases WHERE id = :i"
    wait_for(
        lambda: rows(client.app.state.settings.database_url, status, i=case_id)[0]["status"] == "assigned"
    )
    assert (
        client.post(f"/api/v1/cases/{case_id}/messages", json={"text": "On it"}, headers=alex).status_code
        == 201
    )
    assert (
        client.post(f"/api/v1/cases/{case_id}/messages", json={"text": "Found it"}, headers=alex).status_code
        == 201
    )
    resolved = client.post(f"/api/v1/cases/{case_id}/resolve", json={"disposition": "solved"}, headers=alex)
    assert resolved.status_code == 200
    rate = f"/api/v1/widget/conversations/{widget['conversation_id']}/csat"
    assert client.post(rate, json={"score": 4}, headers=auth).status_code == 200


def test_traffic_shows_in_every_window_and_survives_a_restart(client, widget, settings, rasa):
    jordan = staff_headers(client, SUPERVISOR)
    handled_by_an_agent(client, widget)
    # A second conversation the bot handles alone: it ends idle, without a human.
    other = client.post("/api/v1/widget/sessions", json={}).json()
    url = f"/api/v1/widget/conversations/{other['conversation_id']}/messages"
    client.post(url, json={"text": "thanks, bye"}, headers={"Authorization": f"Bearer {other['token']}"})

    figures = wait_for(lambda: (f := summary(client, jordan)) and f["conversations_ended"] == 2 and f)
    assert figures["messages"] == 4 and figures["conversations"] == 2
    assert figures["intent_mix"] == {"order_status": 4}  # what the scripted Rasa parsed
    # The scripted Rasa's parse: every message neutral (tests/app_fixtures.py); the label signs it.
    assert figures["negative_share"] == 0.0 and figures["sentiment_avg"] == 0.0
    assert figures["bot_replies"] == 8  # two replies per bot turn; the hand-off notice is not one
    assert figures["handoffs"] == 1 and figures["handoff_rate"] == 0.5
    assert figures["cases_assigned"] == 1 and figures["cases_resolved"] == 1
    assert figures["first_response_s"] > 0 and figures["resolution_s"] >= figures["first_response_s"]
    assert figures["csat_avg"] == 4.0 and figures["csat_count"] == 1
    assert figures["deflection_rate"] == 0.5  # one of the two ended conversations never met a human
    assert figures["sla_breaches"] == 0
    for window in ("24h", "7d"):
        assert summary(client, jordan, window) | {"window": "1h", "as_of": None} == figures | {"as_of": None}

    series = client.get("/api/v1/analytics/series?window=24h", headers=jordan).json()
    assert series["minutes_per_point"] == 60 and len(series["points"]) == 24
    assert sum(p["messages"] for p in series["points"]) == 4
    assert series["points"][-1]["messages"] == 4 or series["points"][-2]["messages"] > 0

    # The buckets are in the database: a new worker (or a restart) starts from them, not from zero.
    wait_for(lambda: bucket_total(settings.database_url, "ended") == 2)
    assert bucket_total(settings.database_url, "message") == 4
    with TestClient(create_app(settings)) as second:
        again = summary(second, staff_headers(second, SUPERVISOR))
        assert again | {"as_of": None} == figures | {"as_of": None}


def test_a_second_worker_sees_the_first_workers_events(client, widget, settings):
    """Two apps on one database stand for two backend workers: each sees the other's events in its windows."""
    with TestClient(create_app(settings)) as second:
        separate_processes(second)
        jordan = staff_headers(second, SUPERVISOR)
        auth = {"Authorization": widget["auth"]}
        url = f"/api/v1/widget/conversations/{widget['conversation_id']}/messages"
        assert client.post(url, json={"text": "hello"}, headers=auth).status_code == 200
        figures = wait_for(lambda: (f := summary(second, jordan)) and f["messages"] == 1 and f)
        assert figures["conversations"] == 1 and figures["intent_mix"] == {"order_status": 1}


def test_only_supervisors_and_admins_read_analytics_and_bad_parameters_are_refused(client):
    agent, admin = staff_headers(client, AGENT), staff_headers(client, "admin@northwind.example")
    assert client.get("/api/v1/analytics/summary").status_code == 401
    refused = client.get("/api/v1/analytics/summary", headers=agent)
    assert refused.status_code == 403 and "supervisor" in refused.json()["detail"]
    assert client.get("/api/v1/analytics/anomalies", headers=admin).json() == []
    bad = client.get("/api/v1/analytics/summary?window=2h", headers=admin)
    assert bad.status_code == 422 and "'1h', '24h' or '7d'" in bad.text
    assert client.get("/api/v1/analytics/series?window=", headers=admin).status_code == 422


def test_segments_cover_every_customer_with_a_churn_rate(client):
    body = client.get("/api/v1/analytics/segments", headers=staff_headers(client, SUPERVISOR)).json()
    customers = rows(client.app.state.settings.database_url, "SELECT COUNT(*) AS n FROM customers")[0]["n"]
    assert body["customers"] == customers
    assert 2 <= body["k"] <= 6 and len(body["segments"]) == body["k"]
    assert sum(s["size"] for s in body["segments"]) == customers
    assert body["churn_source"] in ("observed", "predicted")
    for segment in body["segments"]:
        assert segment["label"] and set(segment["centroid"]) == set(body["features"])
        assert segment["churn_rate"] is None or 0.0 <= segment["churn_rate"] <= 1.0


def test_idle_sweep_ends_a_conversation_once_even_with_two_workers(client, widget, settings):
    from backend.core.database import utcnow

    auth = {"Authorization": widget["auth"]}
    url = f"/api/v1/widget/conversations/{widget['conversation_id']}/messages"
    client.post(url, json={"text": "hello"}, headers=auth)
    with TestClient(create_app(settings)) as second:
        separate_processes(second)
        later = utcnow() + timedelta(seconds=5)
        ended = [c.portal.call(c.app.state.analytics.sweep_idle, later) for c in (client, second, client)]
        status = rows(settings.database_url, "SELECT status FROM conversations WHERE id = :c",
                      c=widget["conversation_id"])  # fmt: skip
    assert sum(ended) <= 1 and status == [{"status": "resolved"}]
    # Writing again reopens it. The app's own idle sweep (1 s idle here) stops first: on a loaded machine the
    # turn and the read below can take longer than that second, and the sweep would end it again in between.
    assert client.portal.call(client.app.state.analytics.loop.stop)
    client.post(url, json={"text": "one more thing"}, headers=auth)
    status = rows(
        settings.database_url, "SELECT status FROM conversations WHERE id = :c", c=widget["conversation_id"]
    )
    assert status == [{"status": "open"}]
