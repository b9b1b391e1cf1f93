"""Champion-challenger for the escalation model (backend/risk/challenger.py) on a real database.

Shadow scoring and the served slice are driven through `score_turn`, the hub's hook. The lift tests seed a
logged history whose outcomes come from the seeded simulator (ml/risk/simulator.py, seed 99: conversations
neither model was trained on), so the outcome of a turn is generated independently of both models' scores;
each model scores those turns' features as it would live. All figures here are on simulated data.
"""

import asyncio
import json
from datetime import timedelta
from functools import cache

import numpy as np
import pytest

from backend.cases.models import Case
from backend.core.config import to_async_url
from backend.core.database import make_engine, make_sessionmaker, utcnow
from backend.decisions import outcomes
from backend.decisions import service as decisions
from backend.risk import challenger, registry
from backend.risk.tabular import FeatureSchema
from ml.risk import simulator, training
from ml.risk.training import Trained
from tests.app_fixtures import staff_headers
from tests.dbcheck import rows
from tests.risk.helpers import escalation_model, install
from tests.risk.test_risk_api import ANGRY, conversation_with

ADMIN = "admin@northwind.example"
# A deliberately poor escalation model: it sees only the current message's sentiment.
WEAK_ESCALATION = FeatureSchema(("sentiment_now",), ())


@cache
def weak_escalation_model() -> Trained:
    history = simulator.escalation_history(900, seed=7)
    source = {"type": "simulated", "conversations": 900, "schema": "sentiment_now only"}
    return training.train_frame(
        history.X, history.y, "escalation", source, WEAK_ESCALATION, seed=7, groups=history.groups, folds=3
    )


@pytest.fixture
def settings(settings, tmp_path):
    return settings.model_copy(update={"risk_model_dir": tmp_path / "models"})


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def start_challenger(client, version_id: int) -> None:
    response = client.post(f"/api/v1/models/{version_id}/challenger", headers=staff_headers(client, ADMIN))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "challenger"


async def score_conversation(database_url, settings, turns):
    engine, sessions, conversation, messages = await conversation_with(database_url, turns)
    try:
        async with sessions() as session:
            from backend.risk import service

            made = [await service.score_turn(session, conversation, m, settings) for m in messages]
        return conversation, messages, made
    finally:
        await engine.dispose()


# ------------------------------------------------------------------------------------ shadow, slice


def test_shadow_scoring_logs_both_models_per_turn_and_only_the_champion_acts(client, settings, database_url):
    directory = settings.risk_model_dir
    champion = asyncio.run(install(database_url, escalation_model(), directory))
    rival = asyncio.run(install(database_url, weak_escalation_model(), directory, promote=False))
    start_challenger(client, rival)

    conversation, messages, made = asyncio.run(score_conversation(database_url, settings, ANGRY))
    logged = rows(database_url, "SELECT * FROM decisions WHERE kind = 'escalation' ORDER BY id")
    assert len(logged) == 2 * len(messages)
    for message, decision in zip(messages, made, strict=True):
        mine = [r for r in logged if r["message_id"] == message.id]
        by_role = {_json(r["inputs"])["role"]: r for r in mine}
        assert set(by_role) == {"champion", "challenger"}
        assert _json(by_role["champion"]["inputs"])["shadow"] is False
        assert _json(by_role["challenger"]["inputs"])["shadow"] is True
        assert by_role["challenger"]["version"] == "escalation:v2"
        # What acted is the champion's score: the returned decision and the stored turn score.
        assert decision.model_version_id == champion
        assert decision.score == pytest.approx(by_role["champion"]["score"])
        assert by_role["challenger"]["score"] != pytest.approx(by_role["champion"]["score"])
    stored = rows(
        database_url, "SELECT model_version_id FROM risk_scores WHERE subject_type = 'conversation'"
    )
    assert len(stored) == len(messages) and {r["model_version_id"] for r in stored} == {champion}

    # The outcome job fills each row's handed_over: a case opened at or after the turn.
    async def hand_over_and_join():
        engine = make_engine(to_async_url(database_url))
        try:
            async with make_sessionmaker(engine)() as session:
                session.add(
                    Case(
                        conversation_id=conversation.id,
                        reason="test",
                        created_at=messages[-1].created_at + timedelta(seconds=1),
                    )
                )
                await session.commit()
                await outcomes.join_outcomes(session, now=utcnow() + timedelta(days=8))
        finally:
            await engine.dispose()

    asyncio.run(hand_over_and_join())
    joined = rows(database_url, "SELECT outcome, outcome_final FROM decisions WHERE kind = 'escalation'")
    assert all(r["outcome_final"] and _json(r["outcome"])["handed_over"] is True for r in joined)


def test_on_the_configured_slice_the_challenger_acts_and_the_champion_is_the_shadow(
    client, settings, database_url
):
    directory = settings.risk_model_dir
    champion = asyncio.run(install(database_url, escalation_model(), directory))
    rival = asyncio.run(install(database_url, weak_escalation_model(), directory, promote=False))
    start_challenger(client, rival)
    everyone = settings.model_copy(update={"challenger_slice": 1.0})
    _, _, made = asyncio.run(score_conversation(database_url, everyone, ANGRY[:2]))
    assert {d.model_version_id for d in made} == {rival}
    logged = rows(database_url, "SELECT version, inputs FROM decisions WHERE kind = 'escalation'")
    shadow = {r["version"] for r in logged if _json(r["inputs"])["shadow"]}
    assert len(logged) == 4 and shadow == {"escalation:v1"} and champion


def test_the_slice_is_a_stable_share_of_conversations() -> None:
    ids = [f"conversation-{i}" for i in range(4000)]
    served = [challenger.serves_challenger(i, 0.25) for i in ids]
    assert 0.22 < np.mean(served) < 0.28
    assert served == [challenger.serves_challenger(i, 0.25) for i in ids]
    assert not any(challenger.serves_challenger(i, 0.0) for i in ids)


def test_only_an_escalation_candidate_can_be_a_challenger(client, settings, database_url):
    directory = settings.risk_model_dir
    champion = asyncio.run(install(database_url, escalation_model(), directory))
    headers = staff_headers(client, ADMIN)
    assert client.post(f"/api/v1/models/{champion}/challenger", headers=headers).status_code == 409
    rival = asyncio.run(install(database_url, weak_escalation_model(), directory, promote=False))
    assert client.post(f"/api/v1/models/{rival}/challenger", headers=staff_headers(client)).status_code == 403
    start_challenger(client, rival)
    assert rows(database_url, "SELECT id FROM audit_events WHERE action = 'model.challenger_start'")
    stopped = client.post("/api/v1/models/challenger/stop", json={"kind": "escalation"}, headers=headers)
    assert stopped.status_code == 200 and stopped.json()["status"] == "candidate"


# --------------------------------------------------------------------------------- lift and promotion


async def seed_history(database_url: str, settings, n_conversations: int) -> int:
    """Logged escalation turns with final outcomes: simulated conversations (seed 99), both models' scores
    on each turn, and the simulator's outcome (handed over or not). Returns the number of turns."""
    history = simulator.escalation_history(n_conversations, seed=99)
    engine = make_engine(to_async_url(database_url))
    try:
        async with make_sessionmaker(engine)() as session:
            champion = await registry.production(session, "escalation")
            rival = await challenger.current(session, "escalation")
            scores = {
                role: registry.load(settings.risk_model_dir, version).predict_frame(history.X)
                for role, version in (("champion", champion), ("challenger", rival))
            }
            at = utcnow() - timedelta(days=10)
            for i, label in enumerate(history.y):
                for role, version in (("champion", champion), ("challenger", rival)):
                    row = decisions.record(
                        session,
                        "escalation",
                        action="continue",
                        version=f"escalation:{version.version}",
                        inputs={"shadow": role == "challenger", "role": role, "pair": f"sim:{i}"},
                        score=float(scores[role][i]),
                        threshold=settings.escalation_threshold,
                        at=at,
                    )
                    row.outcome, row.outcome_final, row.outcome_at = {"handed_over": bool(label)}, True, at
            await session.commit()
            return len(history.y)
    finally:
        await engine.dispose()


def test_promotion_is_refused_without_enough_outcomes(client, settings, database_url):
    directory = settings.risk_model_dir
    asyncio.run(install(database_url, weak_escalation_model(), directory))
    rival = asyncio.run(install(database_url, escalation_model(), directory, promote=False))
    start_challenger(client, rival)
    headers = staff_headers(client, ADMIN)
    n = asyncio.run(seed_history(database_url, settings, 20))
    assert n < settings.challenger_min_outcomes
    status = client.get("/api/v1/models/challenger/status", headers=staff_headers(client)).json()
    assert status["lift"]["n"] == n and not status["lift"]["passed"] and "needed" in status["lift"]["reason"]
    refused = client.post(f"/api/v1/models/{rival}/promote", headers=headers)
    assert refused.status_code == 409 and "needed" in refused.json()["detail"]


@pytest.mark.slow  # bootstraps the lift interval
def test_promotion_is_refused_when_the_challenger_is_worse(client, settings, database_url):
    directory = settings.risk_model_dir
    asyncio.run(install(database_url, escalation_model(), directory))
    rival = asyncio.run(install(database_url, weak_escalation_model(), directory, promote=False))
    start_challenger(client, rival)
    asyncio.run(seed_history(database_url, settings, 150))
    status = client.get("/api/v1/models/challenger/status", headers=staff_headers(client)).json()["lift"]
    assert status["n"] >= settings.challenger_min_outcomes and status["lift"] < 0 and not status["passed"]
    refused = client.post(f"/api/v1/models/{rival}/promote", headers=staff_headers(client, ADMIN))
    assert refused.status_code == 409 and "interval" in refused.json()["detail"]


@pytest.mark.slow  # bootstraps the lift interval
def test_a_truly_better_challenger_is_promoted_on_its_measured_lift_and_rollback_restores_the_champion(
    client, settings, database_url
):
    directory = settings.risk_model_dir
    champion = asyncio.run(install(database_url, weak_escalation_model(), directory))
    rival = asyncio.run(install(database_url, escalation_model(), directory, promote=False))
    start_challenger(client, rival)
    asyncio.run(seed_history(database_url, settings, 150))
    headers = staff_headers(client, ADMIN)
    status = client.get("/api/v1/models/challenger/status", headers=headers).json()
    lift = status["lift"]
    assert status["champion"]["id"] == champion and status["challenger"]["id"] == rival
    assert lift["passed"] and lift["ci95"][0] > 0 and lift["challenger_auc"] > lift["champion_auc"]
    promoted = client.post(f"/api/v1/models/{rival}/promote", headers=headers)
    assert promoted.status_code == 200, promoted.text
    body = promoted.json()["version"]
    assert body["status"] == "production" and body["metrics"]["challenger_lift"]["passed"]
    back = client.post("/api/v1/models/rollback", json={"kind": "escalation"}, headers=headers)
    assert back.status_code == 200 and back.json()["id"] == champion


def test_the_rank_sum_auc_equals_scikit_learns_with_ties() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300) + 0.3 * y, 1)  # rounded: many ties
    assert challenger._auc(y, scores) == pytest.approx(roc_auc_score(y, scores))
