"""The fairness audit on logged escalation scores (GET /api/v1/models/fairness/logged) on a real database.

The crash it guards against: fairlearn squeezes an ndarray of sensitive features, so a logged sample of one
scored conversation became a 0-d array and MetricFrame raised "Feature array has too many dimensions" (the
route answered 409 for it). One scored conversation is a valid sample and gets its audit; no score at all is
the one insufficient sample, answered 409 with what is missing.
"""

import asyncio

import numpy as np
import pandas as pd
import pytest

from backend.risk import fairness
from tests.app_fixtures import staff_headers
from tests.dbcheck import execute, rows
from tests.risk.helpers import escalation_model, install
from tests.risk.test_risk_api import ANGRY, decisions

LOGGED = "/api/v1/models/fairness/logged"


@pytest.fixture
def settings(settings, tmp_path):
    return settings.model_copy(update={"risk_model_dir": tmp_path / "models"})


def test_a_sample_of_one_subject_is_audited() -> None:
    report = fairness.audit([1], [1], pd.DataFrame({"plan": ["pro"]}), 0.2, 5, scores=np.array([0.9]))
    assert report["n"] == 1 and report["attributes"]["plan"]["groups"]["pro"]["selection_rate"] == 1.0
    assert not report["flagged"]  # one row supports no gap


def test_one_scored_conversation_gets_its_logged_audit(client, settings, database_url):
    asyncio.run(install(database_url, escalation_model(), settings.risk_model_dir))
    asyncio.run(decisions(database_url, settings, ANGRY))  # the demo customer's conversation, four turns
    response = client.get(LOGGED, params={"kind": "escalation"}, headers=staff_headers(client))
    assert response.status_code == 200, response.text
    report = response.json()["report"]
    assert report["data"] == "logged" and report["n"] == 1  # the conversation's highest turn score
    assert set(report["attributes"]) == {"plan", "tenure_band", "language", "channel", "segment"}
    [plan] = report["attributes"]["plan"]["groups"].values()
    assert plan["n"] == 1 and plan["selection_rate"] == 1.0  # it crossed the threshold
    assert not report["flagged"]


def test_the_logged_audit_covers_the_conversations_channel(client, settings, database_url):
    asyncio.run(install(database_url, escalation_model(), settings.risk_model_dir))
    for _ in range(2):
        asyncio.run(decisions(database_url, settings, ANGRY))
    scored = "SELECT DISTINCT subject_id FROM risk_scores WHERE subject_type = 'conversation'"
    first, _ = (r["subject_id"] for r in rows(database_url, scored))
    execute(database_url, "UPDATE conversations SET channel = 'email' WHERE id = :i", i=first)
    response = client.get(LOGGED, params={"kind": "escalation"}, headers=staff_headers(client))
    assert response.status_code == 200, response.text
    channel = response.json()["report"]["attributes"]["channel"]
    assert {name: group["n"] for name, group in channel["groups"].items()} == {"email": 1, "web": 1}
    assert channel["metrics"]["calibration_error"]["gated"]


def test_no_served_score_is_refused_with_what_is_missing(client, settings, database_url):
    asyncio.run(install(database_url, escalation_model(), settings.risk_model_dir))
    response = client.get(LOGGED, params={"kind": "escalation"}, headers=staff_headers(client))
    assert response.status_code == 409
    assert response.json()["detail"].startswith("nothing to audit: no served escalation scores yet")
