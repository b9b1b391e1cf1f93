"""Decision metrics: every recorded decision is counted by kind, action and version, its score lands in the
kind's histogram, and a rules fallback is counted by the kind of its reason; labels stay bounded."""

import time
from collections.abc import Iterator, Sequence

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from backend.core.config import Settings
from backend.core.metrics import decision_label, fallback_reason
from backend.handoff.features import FEATURES, TurnView
from backend.handoff.policy import HandoffDecision, LearntPolicy, decide_within
from backend.main import create_app
from tests.app_fixtures import SERVICE_HEADERS, ScriptedRasa
from tests.decisions.helpers import decisions, parses, send


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("action", "label"),
    [
        ("agent:17", "agent"),  # routing and reassignment: one agent each, never a series each
        ("priority 42.50", "priority"),
        ("offer:2", "offer:2"),  # the offer table's rows are few and worth telling apart
        ("handoff", "handoff"),
        ("learnt@2026-11-30", "learnt@2026-11-30"),
        ("rule:3/version:12", "rule:3/version:12"),
        ("x" * 300, "x" * 64),
    ],
)
def test_labels_drop_per_agent_and_per_value_parts(action, label):
    assert decision_label(action) == label


class SlowPolicy(LearntPolicy):
    def decide(self, turns: Sequence[TurnView]) -> HandoffDecision:
        time.sleep(0.2)
        return super().decide(turns)


class BrokenPolicy(LearntPolicy):
    def decide(self, turns: Sequence[TurnView]) -> HandoffDecision:
        raise ArithmeticError("model file corrupt: failed to read")


def learnt(cls: type[LearntPolicy]) -> LearntPolicy:
    n = len(FEATURES)
    return cls("m1", (0.0,) * n, (1.0,) * n, (5.0,) * n, 5.0, 0.0)


@pytest.mark.parametrize(("policy", "reason"), [(SlowPolicy, "deadline"), (BrokenPolicy, "error")])
async def test_the_reasons_the_policy_writes_are_classed(policy, reason):
    decision = await decide_within(learnt(policy), [TurnView("order_status", "neutral", -0.1)], budget_s=0.05)
    assert decision.fallback and fallback_reason(decision.fallback) == reason


@pytest.fixture
def learnt_missing(settings: Settings, rasa: ScriptedRasa, tmp_path) -> Iterator[TestClient]:
    changes = {"handoff_policy": "learnt", "handoff_model_path": tmp_path / "absent.json"}
    app = create_app(settings.model_copy(update=changes), rasa_transport=httpx.MockTransport(rasa.handle))
    with TestClient(app) as client:
        yield client


def test_a_turn_counts_its_decision_and_the_fallback_it_took(learnt_missing, rasa, database_url):
    client = learnt_missing
    body = client.post("/api/v1/widget/sessions", json={}).json()
    widget = {**body, "auth": f"Bearer {body['token']}"}
    rasa.answer = parses(("order_status", "neutral"))
    handoff = {"kind": "handoff", "action": "continue", "version": "rules"}
    before = value("supportdesk_decisions_total", **handoff)
    unloaded = value("supportdesk_decision_fallbacks_total", kind="handoff", reason="unloaded")
    send(client, widget, "where is my parcel")
    (row,) = decisions(database_url, "handoff", conversation_id=widget["conversation_id"])
    assert "could not be loaded" in row["fallback"]
    assert value("supportdesk_decisions_total", **handoff) == before + 1
    assert value("supportdesk_decision_fallbacks_total", kind="handoff", reason="unloaded") == unloaded + 1


def test_a_knowledge_answer_counts_its_version_and_its_confidence(client, widget, database_url):
    count = value("supportdesk_decision_score_count", kind="kb_answer")
    total = value("supportdesk_decision_score_sum", kind="kb_answer")
    response = client.get(
        "/api/v1/service/kb/search",
        params={"q": "how long does standard shipping take?", "conversation_id": widget["conversation_id"]},
        headers=SERVICE_HEADERS,
    )
    assert response.status_code == 200, response.text
    (row,) = decisions(database_url, "kb_answer", conversation_id=widget["conversation_id"])
    labels = {"kind": "kb_answer", "action": row["action"], "version": row["version"]}
    assert value("supportdesk_decisions_total", **labels) >= 1
    assert value("supportdesk_decision_score_count", kind="kb_answer") == count + 1
    assert value("supportdesk_decision_score_sum", kind="kb_answer") == pytest.approx(total + row["score"])
