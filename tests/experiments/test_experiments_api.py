"""The experiments API: a plan's sample size, start and stop, sticky assignment logged once per unit, the
fixed-horizon stop rule, bad input, and audited contact preferences."""

from __future__ import annotations

import json

from backend.experiments import stats
from tests.app_fixtures import SERVICE_HEADERS, staff_headers
from tests.dbcheck import rows
from tests.experiments.helpers import ADMIN, start_experiment

SMALL = {
    "key": "kb-threshold",
    "name": "Knowledge answer threshold",
    "unit": "conversation",
    "variants": [{"name": "control", "weight": 1}, {"name": "lower", "weight": 1}],
    "primary_outcome": "handed_over_7d",
    "baseline_rate": 0.3,
    "minimum_effect": 0.4,
}


def assign(client, unit: str, key: str = "kb-threshold") -> str | None:
    found = client.post(
        f"/api/experiments/{key}/assignments", json={"unit_id": unit}, headers=SERVICE_HEADERS
    )
    assert found.status_code == 200, found.text
    return found.json()["variant"]


def test_an_experiment_enrols_until_its_planned_sample_then_stops(client, database_url):
    experiment = start_experiment(client, SMALL)
    planned = experiment["planned_per_arm"]
    assert planned == stats.sample_size_per_arm(0.3, 0.7, 0.05, 0.8)
    seen: dict[str, str] = {}
    unit = 0
    while (variant := assign(client, f"u{unit}")) is not None:
        seen[f"u{unit}"] = variant
        unit += 1
        assert unit < 1000
    counts = {name: list(seen.values()).count(name) for name in ("control", "lower")}
    assert min(counts.values()) == planned  # stopped as the last arm reached its plan
    admin = staff_headers(client, ADMIN)
    now = client.get("/api/experiments/kb-threshold", headers=admin).json()
    assert now["status"] == "stopped" and "planned sample size" in now["stop_reason"]
    # Enrolled units keep their variant; new ones get none; each unit was logged once.
    assert all(assign(client, u) == v for u, v in list(seen.items())[:10])
    assert assign(client, "newcomer") is None
    logged = rows(database_url, "SELECT inputs FROM decisions WHERE kind = 'experiment'")
    units = [
        json.loads(r["inputs"])["unit_id"] if isinstance(r["inputs"], str) else r["inputs"]["unit_id"]
        for r in logged
    ]
    assert sorted(units) == sorted(seen)
    result = client.get("/api/experiments/kb-threshold/results", headers=admin).json()
    assert {a["variant"]: a["assigned"] for a in result["metrics"]["handed_over_7d"]} == counts
    assert result["final"] is False  # outcomes not in yet


def test_only_admins_change_experiments_and_bad_plans_are_refused(client):
    agent = staff_headers(client)
    assert client.post("/api/experiments", json=SMALL, headers=agent).status_code == 403
    admin = staff_headers(client, ADMIN)
    bad_metric = SMALL | {"primary_outcome": "happiness"}
    assert client.post("/api/experiments", json=bad_metric, headers=admin).status_code == 422
    impossible = SMALL | {"baseline_rate": 0.9, "minimum_effect": 0.2}
    assert client.post("/api/experiments", json=impossible, headers=admin).status_code == 422
    tiny = SMALL | {"minimum_effect": 1e-300}
    assert client.post("/api/experiments", json=tiny, headers=admin).status_code == 422
    huge = SMALL | {"minimum_effect": 0.001, "baseline_rate": 0.5, "alpha": 0.001, "power": 0.99}
    assert client.post("/api/experiments", json=huge, headers=admin).status_code == 422
    one_arm = SMALL | {"variants": [{"name": "control", "weight": 1}]}
    assert client.post("/api/experiments", json=one_arm, headers=admin).status_code == 422
    assert client.post("/api/experiments", json=SMALL, headers=admin).status_code == 201
    assert client.post("/api/experiments", json=SMALL, headers=admin).status_code == 409
    assert (
        client.post("/api/experiments/kb-threshold/stop", json={"reason": "x"}, headers=admin).status_code
        == 409
    )
    assert client.post("/api/experiments/nope/start", headers=admin).status_code == 404
    assert assign(client, "u1") is None  # a draft takes no units
    assert client.post("/api/experiments/kb-threshold/start", headers=admin).status_code == 200
    stopped = client.post("/api/experiments/kb-threshold/stop", json={"reason": "guardrail"}, headers=admin)
    assert stopped.json()["status"] == "stopped" and stopped.json()["stop_reason"] == "guardrail"


def test_preferences_are_edited_by_staff_and_audited(client, database_url):
    customer = rows(database_url, "SELECT id, marketing_consent FROM customers ORDER BY id LIMIT 1")[0]
    staff = staff_headers(client)
    url = f"/api/v1/customers/{customer['id']}/preferences"
    body = {"marketing_consent": False, "contact_channels": ["email"], "max_offers_per_month": 0}
    changed = client.put(url, json=body, headers=staff)
    assert changed.status_code == 200 and changed.json()["contact_channels"] == ["email"]
    assert client.get(url, headers=staff).json()["marketing_consent"] is False
    (event,) = rows(database_url, "SELECT * FROM audit_events WHERE action = 'customer.preferences'")
    assert event["entity_id"] == str(customer["id"])
    assert client.put(url, json=body | {"contact_channels": ["fax"]}, headers=staff).status_code == 422
    assert client.put("/api/v1/customers/999999/preferences", json=body, headers=staff).status_code == 404
    assert client.put(url, json=body).status_code == 401
