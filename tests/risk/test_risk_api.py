"""The risk API and the turn-scoring integration point on a real database (SQLite and PostgreSQL)."""

import asyncio
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from backend.conversations.models import Conversation, Message
from backend.core.config import to_async_url
from backend.core.database import make_engine, make_sessionmaker, utcnow
from backend.risk import rules, service
from tests.app_fixtures import SERVICE_HEADERS, default_answer, staff_headers
from tests.conftest import copy_sqlite
from tests.dbcheck import rows
from tests.risk.conftest import InstalledModels, install_production_models
from tests.risk.helpers import WEAK_OVERRIDE, churn_models, install

ADMIN = "admin@northwind.example"


@pytest.fixture
def settings(settings, tmp_path):
    return settings.model_copy(update={"risk_model_dir": tmp_path / "models"})


@pytest.fixture
def database_url(database_url: str, request: pytest.FixtureRequest) -> str:
    """The seeded database; on SQLite, for a test that asks for `models`, a copy of the session's seeded file
    with them installed (tests/risk/conftest.py), copied here so that the app starts on it."""
    if "models" in request.fixturenames and database_url.startswith("sqlite"):
        installed: InstalledModels = request.getfixturevalue("installed_models")
        copy_sqlite(installed.database, Path(make_url(database_url).database or ""))
    return database_url


@pytest.fixture
def models(settings, database_url: str, request: pytest.FixtureRequest) -> dict[str, int]:
    """Production models as bootstrap leaves them: churn (full) and escalation; the weak churn model as
    a spare candidate. Returns the version ids."""
    if database_url.startswith("sqlite"):
        # The rows are in the database already (`database_url` above); their artefacts go where the app looks.
        installed: InstalledModels = request.getfixturevalue("installed_models")
        shutil.copytree(installed.model_dir, settings.risk_model_dir, dirs_exist_ok=True)
        return dict(installed.ids)
    # PostgreSQL: each test's database is migrated and seeded afresh (tests/conftest.py), so they are
    # installed in it here, the same way the template was.
    return asyncio.run(install_production_models(database_url, settings.risk_model_dir))


def admin(client):
    return staff_headers(client, ADMIN)


def test_model_versions_are_listed_and_shown_to_staff_only(client, models):
    assert client.get("/api/v1/models").status_code == 401
    headers = staff_headers(client)
    listed = client.get("/api/v1/models", headers=headers).json()
    assert {(m["kind"], m["status"]) for m in listed} == {
        ("churn", "production"),
        ("escalation", "production"),
        ("churn", "candidate"),
    }
    one = client.get(f"/api/v1/models/{models['churn']}", headers=headers).json()
    assert one["metrics"]["holdout_metric"] == "roc_auc" and 0.5 < one["metrics"]["roc_auc"] <= 1
    assert len(one["metrics"]["calibration"]) == 10
    only_churn = client.get("/api/v1/models", params={"kind": "churn"}, headers=headers).json()
    assert {m["kind"] for m in only_churn} == {"churn"}
    assert client.get("/api/v1/models/9999", headers=headers).status_code == 404
    assert client.get("/api/v1/models", params={"kind": "weather"}, headers=headers).status_code == 422


def test_churn_risk_of_a_customer_names_its_model_version_and_reasons(client, models, database_url):
    response = client.get("/api/v1/customers/1/churn-risk", headers=staff_headers(client))
    assert response.status_code == 200, response.text
    body = response.json()
    assert 0 < body["score"] < 1 and body["model_version_id"] == models["churn"]
    assert body["reasons"] and all(
        r["text"] and r["direction"] in ("raises", "lowers") for r in body["reasons"]
    )
    [stored] = rows(database_url, "SELECT * FROM risk_scores WHERE subject_type = 'customer'")
    assert stored["subject_id"] == "1" and stored["model_version_id"] == models["churn"]
    assert stored["score"] == pytest.approx(body["score"])


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/v1/customers/99999/churn-risk", 404), ("/api/v1/customers/abc/churn-risk", 422)],
)
def test_churn_risk_of_an_unknown_customer_is_refused(client, models, path, status):
    response = client.get(path, headers=staff_headers(client))
    assert response.status_code == status
    if status == 404:
        assert "no customer 99999" in response.json()["detail"]


def test_without_a_production_model_scoring_says_how_to_get_one(client):
    response = client.get("/api/v1/customers/1/churn-risk", headers=staff_headers(client))
    assert response.status_code == 503 and "ml.risk.bootstrap" in response.json()["detail"]


def test_the_gate_refuses_a_worse_candidate_with_the_reason(client, models, database_url):
    # The weak model's fairness flag (by segment: tests/risk/helpers.py) is overridden to reach the ROC gate.
    override = {"fairness_override": WEAK_OVERRIDE}
    response = client.post(f"/api/v1/models/{models['weak']}/promote", json=override, headers=admin(client))
    assert response.status_code == 409
    assert "does not beat production" in response.json()["detail"]
    statuses = {r["id"]: r["status"] for r in rows(database_url, "SELECT id, status FROM model_versions")}
    assert statuses[models["churn"]] == "production" and statuses[models["weak"]] == "candidate"


def test_promotion_and_rollback_need_an_admin(client, models):
    agent = staff_headers(client)
    assert client.post(f"/api/v1/models/{models['weak']}/promote", headers=agent).status_code == 403
    assert client.post("/api/v1/models/rollback", json={"kind": "churn"}, headers=agent).status_code == 403


def test_a_better_candidate_is_promoted_and_rollback_restores_the_previous_scores(
    client, settings, database_url
):
    full, weak = churn_models()
    weak_id = asyncio.run(
        install(database_url, weak, settings.risk_model_dir, fairness_override=WEAK_OVERRIDE)
    )
    full_id = asyncio.run(install(database_url, full, settings.risk_model_dir, promote=False))
    headers = admin(client)
    before = client.get("/api/v1/customers/5/churn-risk", headers=headers).json()
    assert before["model_version_id"] == weak_id

    promoted = client.post(f"/api/v1/models/{full_id}/promote", headers=headers)
    assert promoted.status_code == 200, promoted.text
    comparison = promoted.json()["comparison"]
    assert comparison["passed"] and comparison["candidate"] > comparison["production"]
    assert promoted.json()["version"]["replaces_id"] == weak_id
    after = client.get("/api/v1/customers/5/churn-risk", headers=headers).json()
    assert after["model_version_id"] == full_id and after["score"] != pytest.approx(before["score"])
    # The audit log names the admin, the version promoted and the production version it replaced.
    [event] = client.get(f"/api/v1/audit?action=model.promote&actor={ADMIN}", headers=headers).json()["items"]
    assert event["entity_id"] == str(full_id)
    assert event["before"]["status"] == "production" and event["after"]["status"] == "production"
    assert event["before"]["version"] != event["after"]["version"]

    rolled = client.post("/api/v1/models/rollback", json={"kind": "churn"}, headers=headers)
    assert rolled.status_code == 200 and rolled.json()["id"] == weak_id
    again = client.get("/api/v1/customers/5/churn-risk", headers=headers).json()
    assert again["model_version_id"] == weak_id and again["score"] == pytest.approx(before["score"])

    nothing = client.post("/api/v1/models/rollback", json={"kind": "churn"}, headers=headers)
    assert nothing.status_code == 409 and "nothing to restore" in nothing.json()["detail"]


@pytest.mark.parametrize("body", [{"kind": "weather"}, {}, {"kind": "churn", "extra": 1}])
def test_rollback_refuses_bad_input(client, models, body):
    assert client.post("/api/v1/models/rollback", json=body, headers=admin(client)).status_code == 422


def test_drift_compares_served_scores_and_todays_customers_with_the_training_bins(client, models):
    headers = staff_headers(client)
    for customer_id in range(1, 11):
        client.get(f"/api/v1/customers/{customer_id}/churn-risk", headers=headers)
    served = client.get(f"/api/v1/models/{models['churn']}/drift", headers=headers).json()
    assert served["n"] == 10 and served["source"] == "scores"
    assert "contract" in served["features"] and served["score"]["psi"] is not None
    population = client.get(
        f"/api/v1/models/{models['churn']}/drift", params={"source": "population"}, headers=headers
    ).json()
    assert population["n"] == 30  # every seeded customer is active
    # The seeded demo company has no conversations: its support features drifted from the training data.
    assert population["features"]["contacts_90d"]["status"] in ("moderate", "significant")
    escalation = f"/api/v1/models/{models['escalation']}/drift"
    assert client.get(escalation, headers=headers).json()["n"] == 0
    assert client.get(escalation, params={"source": "population"}, headers=headers).status_code == 422
    assert client.get(escalation, params={"window": 0}, headers=headers).status_code == 422
    assert client.get("/api/v1/models/424242/drift", headers=headers).status_code == 404


# ------------------------------------------------------------------- score_turn (the hub's hook)


async def conversation_with(database_url: str, turns: list[tuple[str, str, float]]) -> tuple:
    """A conversation of the demo customer (id 1) with these customer turns (intent, label, score)."""
    engine = make_engine(to_async_url(database_url))
    sessions = make_sessionmaker(engine)
    start = utcnow() - timedelta(minutes=10)
    async with sessions() as session:
        conversation = Conversation(customer_id=1, started_at=start, last_message_at=start)
        session.add(conversation)
        await session.flush()
        messages = []
        for minute, (intent, label, score) in enumerate(turns, start=1):
            message = Message(
                conversation_id=conversation.id,
                sender="customer",
                text=intent,
                intent=intent,
                sentiment_label=label,
                sentiment_score=score,
                created_at=start + timedelta(minutes=minute),
            )
            session.add(message)
            messages.append(message)
        await session.commit()
    return engine, sessions, conversation, messages


async def decisions(database_url, settings, turns):
    engine, sessions, conversation, messages = await conversation_with(database_url, turns)
    try:
        async with sessions() as session:
            return [await service.score_turn(session, conversation, m, settings) for m in messages]
    finally:
        await engine.dispose()


ANGRY = [
    ("shipping_delay", "negative", -0.3),
    ("complaint", "negative", -0.6),
    ("complaint", "negative", -0.8),
    ("complaint", "negative", -0.9),
]


def test_a_conversation_turning_angry_crosses_the_escalation_threshold(models, settings, database_url):
    made = asyncio.run(decisions(database_url, settings, ANGRY))
    assert made[-1].escalate and made[-1].score >= settings.escalation_threshold and not made[-1].rules
    assert made[-1].score > made[0].score
    assert any("complain" in r or "negative" in r for r in made[-1].reasons)
    stored = rows(database_url, "SELECT * FROM risk_scores WHERE subject_type = 'conversation' ORDER BY id")
    assert len(stored) == 4 and {r["model_version_id"] for r in stored} == {models["escalation"]}
    features = stored[-1]["features"]
    features = json.loads(features) if isinstance(features, str) else features  # SQLite returns JSON text
    assert stored[-1]["decision"] == "escalate" and features["negative_streak"] == 4
    # The customer's churn risk was scored once and reused by the later turns.
    assert len(rows(database_url, "SELECT id FROM risk_scores WHERE subject_type = 'customer'")) == 1


def test_a_calm_conversation_stays_with_the_bot(models, settings, database_url):
    calm = [("order_status", "positive", 0.4), ("inform", "neutral", 0.1), ("affirm", "positive", 0.6)]
    assert not any(d.escalate for d in asyncio.run(decisions(database_url, settings, calm)))


def test_an_explicit_request_for_a_human_always_escalates(models, settings, database_url):
    never = settings.model_copy(update={"escalation_threshold": 0.999})
    [decision] = asyncio.run(decisions(database_url, never, [("request_human", "positive", 0.8)]))
    assert decision.escalate and decision.rules == ["explicit_request"]
    assert decision.reasons[0] == "the customer asked for a human" and decision.score < 0.999


def test_without_an_escalation_model_the_guardrails_still_apply(settings, database_url):
    [decision] = asyncio.run(decisions(database_url, settings, [("request_human", "neutral", 0.0)]))
    assert decision.escalate and decision.score is None and decision.model_version_id is None


def retention(client, conversation_id: str, threshold: float | None = None, headers=None):
    if threshold is not None:
        changed = client.app.state.settings.model_copy(update={"churn_high_threshold": threshold})
        client.app.state.settings = changed
    return client.post(
        f"/api/v1/service/conversations/{conversation_id}/retention-offer",
        headers=SERVICE_HEADERS if headers is None else headers,
    )


def test_a_likely_churner_who_wants_to_cancel_gets_an_offer_chosen_by_rule(client, models, widget):
    offered = retention(client, widget["conversation_id"], threshold=0.01)
    assert offered.status_code == 200, offered.text
    body = offered.json()
    assert body["offer"] and 0.0 <= body["churn_risk"] <= 1.0
    # The demo shopper is month-to-month with a lifetime value over $500: the first row of the offer table.
    assert body["offer"] == rules.RETENTION_OFFERS[0].text
    declined = retention(client, widget["conversation_id"], threshold=1.0).json()
    assert declined["offer"] is None and declined["churn_risk"] == body["churn_risk"]


def test_retention_offers_need_a_known_signed_in_customer_and_the_service_token(client, models):
    anonymous = client.post("/api/v1/widget/sessions", json={}).json()["conversation_id"]
    assert retention(client, anonymous, threshold=0.01).json()["offer"] is None
    assert retention(client, "no-such-conversation").status_code == 404
    assert retention(client, anonymous, headers={}).status_code == 401


def test_a_hand_off_by_the_hub_puts_both_scores_of_the_turn_on_the_case(client, models, widget, rasa):
    def asks_for_a_person(body: dict) -> dict:
        turn = default_answer(body)
        turn["parse"]["intent"] = {"name": "request_human", "confidence": 0.97}
        return turn

    rasa.answer = asks_for_a_person
    client.post(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/messages",
        json={"text": "a person please"},
        headers={"Authorization": widget["auth"]},
    ).raise_for_status()
    database_url = client.app.state.settings.database_url
    [case] = rows(
        database_url,
        "SELECT escalation_risk, churn_risk FROM cases WHERE conversation_id = :c",
        c=widget["conversation_id"],
    )
    escalation = rows(database_url, "SELECT score FROM risk_scores WHERE kind = 'escalation'")
    churn = rows(database_url, "SELECT score FROM risk_scores WHERE kind = 'churn'")
    # One churn score for the turn, the one the escalation features used, is the one on the case.
    assert len(churn) == 1 and case["churn_risk"] == pytest.approx(churn[0]["score"])
    assert case["escalation_risk"] == pytest.approx(escalation[-1]["score"])
