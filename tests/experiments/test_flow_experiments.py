"""Bot-flow experiments (issue 18): the action server asks which way to handle a flow in a conversation.

The default without a running experiment (nothing logged); sticky assignment per conversation, each first
exposure one logged decision, kept after the experiment stops; plans the bot could not serve are refused;
outcomes (hand-over, asking for a person, coming back, CSAT) joined from the conversation's data; results
with intervals equal to a recomputation from the assignment rows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from actions import backend_client
from backend.core.database import utcnow
from backend.experiments import stats
from backend.experiments.assignment import variant_for
from tests.app_fixtures import SERVICE_HEADERS, default_answer, staff_headers
from tests.dbcheck import execute, rows
from tests.experiments.helpers import ADMIN, customers, join, start_experiment

FLOW = "kb-not-sure"
GUARDRAILS = ["asked_for_person_7d", "returned_7d", "csat_satisfied_7d"]
PLAN = {
    "key": FLOW,
    "name": "Not sure: say so, or show the closest article",
    "unit": "conversation",
    "variants": [{"name": "not_sure", "weight": 1}, {"name": "suggest_closest", "weight": 1}],
    "primary_outcome": "handed_over_7d",
    "guardrails": GUARDRAILS,
    "baseline_rate": 0.3,
    "minimum_effect": 0.2,
}


def flow_variant(client, conversation_id: str, flow: str = FLOW, headers=SERVICE_HEADERS) -> dict:
    answer = client.post(f"/api/experiments/flows/{flow}/conversations/{conversation_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # The action server's type reads it field for field: nothing missing, nothing it would ignore.
    assert set(body) == set(backend_client.FlowVariant.__dataclass_fields__)
    assert backend_client.FlowVariant.from_json(body).variant == body["variant"]
    return body


def session_for(client, email: str | None = None) -> dict:
    from backend.auth.tokens import customer_hash

    body = {}
    if email:
        body = {
            "customer_email": email,
            "customer_hash": customer_hash(email, client.app.state.settings.identity_secret),
        }
    found = client.post("/api/v1/widget/sessions", json=body)
    assert found.status_code == 201, found.text
    return found.json()


def logged(database_url: str) -> list[dict]:
    found = rows(
        database_url, "SELECT action, inputs, conversation_id FROM decisions WHERE kind = 'experiment'"
    )
    return [
        r | {"inputs": json.loads(r["inputs"]) if isinstance(r["inputs"], str) else r["inputs"]}
        for r in found
    ]


def test_without_a_running_experiment_the_flow_has_its_default_and_nothing_is_logged(client, database_url):
    conversation = session_for(client)["conversation_id"]
    assert flow_variant(client, conversation) == {
        "flow": FLOW, "conversation_id": conversation, "variant": "not_sure", "experiment": None
    }  # fmt: skip
    admin = staff_headers(client, ADMIN)
    assert client.post("/api/experiments", json=PLAN, headers=admin).status_code == 201  # a draft only
    assert flow_variant(client, conversation)["experiment"] is None
    assert logged(database_url) == [] and rows(database_url, "SELECT id FROM experiment_assignments") == []
    assert client.post(f"/api/experiments/flows/no-such-flow/conversations/{conversation}",
                       headers=SERVICE_HEADERS).status_code == 404  # fmt: skip
    assert client.post(f"/api/experiments/flows/{FLOW}/conversations/{conversation}").status_code == 401


def test_each_conversation_keeps_its_variant_and_its_first_exposure_is_logged_once(client, database_url):
    start_experiment(client, PLAN)
    real = [session_for(client)["conversation_id"] for _ in range(6)]
    units = real + [f"conv-{n}" for n in range(40)]  # ids the backend has no row for still get a variant
    first = {unit: flow_variant(client, unit) for unit in units}
    assert all(body["experiment"] == FLOW for body in first.values())
    for unit in units:  # sticky, and the hash of the experiment key and the conversation id
        assert flow_variant(client, unit)["variant"] == first[unit]["variant"]
        assert first[unit]["variant"] == variant_for(FLOW, unit, PLAN["variants"])
    assert {body["variant"] for body in first.values()} == {"not_sure", "suggest_closest"}
    decisions = logged(database_url)
    assert sorted(d["inputs"]["unit_id"] for d in decisions) == sorted(units)
    by_unit = {d["inputs"]["unit_id"]: d for d in decisions}
    assert all(by_unit[u]["action"] == f"variant:{first[u]['variant']}" for u in units)
    assert {u for u in units if by_unit[u]["conversation_id"]} == set(real)
    # Stopped: an enrolled conversation keeps its way through the flow; a new one gets the default.
    admin = staff_headers(client, ADMIN)
    client.post(f"/api/experiments/{FLOW}/stop", json={"reason": "enough"}, headers=admin).raise_for_status()
    assert flow_variant(client, units[0])["variant"] == first[units[0]]["variant"]
    assert flow_variant(client, "conv-new") == {
        "flow": FLOW, "conversation_id": "conv-new", "variant": "not_sure", "experiment": None
    }  # fmt: skip
    assert len(logged(database_url)) == len(units)


@pytest.mark.parametrize(
    "change",
    [
        {"unit": "customer"},
        {"variants": [{"name": "not_sure", "weight": 1}, {"name": "shout", "weight": 1}]},
        {"variants": [{"name": "suggest_closest", "weight": 1}, {"name": "not_sure", "weight": 1}]},
        {"key": f"{FLOW}-2", "unit": "customer"},  # a later experiment of the flow is checked the same
    ],
)
def test_a_flow_experiment_the_bot_could_not_serve_is_refused(client, change):
    admin = staff_headers(client, ADMIN)
    refused = client.post("/api/experiments", json=PLAN | change, headers=admin)
    assert refused.status_code == 422, refused.text
    assert client.post("/api/experiments", json=PLAN | {"key": f"{FLOW}-2"}, headers=admin).status_code == 201


def test_outcomes_are_joined_per_conversation_and_results_match_a_recomputation(client, rasa, database_url):
    start_experiment(client, PLAN)
    people = customers(database_url, 12)
    sessions = {p["email"]: session_for(client, p["email"]) for p in people}
    anonymous = session_for(client)
    for body in [*sessions.values(), anonymous]:
        flow_variant(client, body["conversation_id"])
    asks, handed, comes_back, quiet = (sessions[p["email"]] for p in people[:4])

    def asks_for_a_person(turn: dict) -> dict:
        answer = default_answer(turn)
        answer["parse"]["intent"] = {"name": "request_human", "confidence": 0.97}
        return answer

    rasa.answer = asks_for_a_person
    client.post(
        f"/api/v1/widget/conversations/{asks['conversation_id']}/messages",
        json={"text": "a person please"}, headers={"Authorization": f"Bearer {asks['token']}"},
    ).raise_for_status()  # fmt: skip
    rasa.answer = None
    client.post(
        f"/api/v1/service/conversations/{handed['conversation_id']}/handoff", json={"reason": "not sure"},
        headers=SERVICE_HEADERS,
    ).raise_for_status()  # fmt: skip
    execute(database_url, "UPDATE cases SET status = 'resolved', resolved_at = :t WHERE conversation_id = :c",
            t=utcnow(), c=handed["conversation_id"])  # fmt: skip
    rated = client.post(
        f"/api/v1/widget/conversations/{handed['conversation_id']}/csat", json={"score": 5},
        headers={"Authorization": f"Bearer {handed['token']}"},
    )  # fmt: skip
    assert rated.status_code == 200, rated.text
    back_email = next(e for e, s in sessions.items() if s is comes_back)
    session_for(client, back_email)  # the same customer opens a new conversation: came back

    assert join(database_url) == len(sessions) + 1
    now = outcomes(database_url)
    assert now[asks["conversation_id"]]["asked_for_person_7d"] is True
    assert now[handed["conversation_id"]]["handed_over_7d"] is True
    assert now[handed["conversation_id"]]["csat_satisfied_7d"] is True
    assert now[comes_back["conversation_id"]]["returned_7d"] is True
    assert now[quiet["conversation_id"]] == {metric: None for metric in ["handed_over_7d", *GUARDRAILS]}
    assert now[anonymous["conversation_id"]]["returned_7d"] is None  # an anonymous return is not seen

    join(database_url, utcnow() + timedelta(days=8))
    later = outcomes(database_url)
    assert later[quiet["conversation_id"]] == {
        "handed_over_7d": False, "asked_for_person_7d": False, "returned_7d": False, "csat_satisfied_7d": None
    }  # fmt: skip
    assert later[anonymous["conversation_id"]]["returned_7d"] is None
    assert later[comes_back["conversation_id"]]["returned_7d"] is True

    admin = staff_headers(client, ADMIN)
    found = client.get(f"/api/experiments/{FLOW}/results", headers=admin).json()
    assert list(found["metrics"]) == ["handed_over_7d", *GUARDRAILS]
    units = rows(database_url, "SELECT variant, outcome FROM experiment_assignments")
    for metric, arms in found["metrics"].items():
        for arm in arms:
            values = [_json(u["outcome"]).get(metric) for u in units if u["variant"] == arm["variant"]]
            known = [v for v in values if v is not None]
            expected = stats.wilson(sum(known), len(known), found["confidence"])
            assert (arm["assigned"], arm["measured"], arm["successes"]) == (
                len(values),
                len(known),
                sum(known),
            )
            assert arm["rate"]["low"] == pytest.approx(expected.low)
            assert arm["rate"]["high"] == pytest.approx(expected.high)
            assert arm["rate"]["low"] <= (arm["rate"]["estimate"] or 0) <= arm["rate"]["high"]
    handed_arms = {a["variant"]: a for a in found["metrics"]["handed_over_7d"]}
    assert (
        handed_arms["not_sure"]["measured"] + handed_arms["suggest_closest"]["measured"] == len(sessions) + 1
    )
    [difference] = [c for c in found["comparisons"] if c["metric"] == "handed_over_7d"]
    control, treated = handed_arms["not_sure"], handed_arms["suggest_closest"]
    newcombe = stats.newcombe(control["successes"], control["measured"], treated["successes"],
                              treated["measured"], found["confidence"])  # fmt: skip
    assert difference["variant"] == "suggest_closest"
    assert difference["difference"]["low"] == pytest.approx(newcombe.low)
    assert difference["difference"]["high"] == pytest.approx(newcombe.high)
    assert difference["difference"]["low"] < difference["difference"]["high"]


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def outcomes(database_url: str) -> dict[str, dict]:
    found = rows(database_url, "SELECT unit_id, outcome FROM experiment_assignments")
    return {r["unit_id"]: _json(r["outcome"]) for r in found}
