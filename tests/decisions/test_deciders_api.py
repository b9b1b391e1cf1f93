"""The other deciders, each driven through the API, write exactly one decision row per decision."""

import asyncio
import time

import httpx
import pytest

from actions import backend_client
from tests.app_fixtures import SERVICE_HEADERS, staff_headers
from tests.cases.test_routing_flow import routing_rounds
from tests.decisions.helpers import decisions


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"routing_interval_s": 0.05})


def kb_search(client, q: str, **params) -> dict:
    response = client.get("/api/v1/service/kb/search", params={"q": q, **params}, headers=SERVICE_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()


def test_each_knowledge_search_of_the_bot_logs_its_answer_or_not(client, widget, database_url):
    conversation = widget["conversation_id"]
    answered = kb_search(client, "how long does standard shipping take?", conversation_id=conversation)
    unsure = kb_search(client, "can I pay with seashells on the moon", conversation_id=conversation)
    kb_search(client, "returns", conversation_id="no-such-conversation")  # logged, linked to nothing
    logged = decisions(database_url, "kb_answer")
    assert len(logged) == 3
    first, second, unlinked = logged
    assert first["conversation_id"] == second["conversation_id"] == conversation
    assert first["customer_id"] is not None and unlinked["conversation_id"] is None
    for found, row in ((answered, first), (unsure, second)):
        assert row["action"] == ("answer" if found["answerable"] else "not_sure")
        assert row["threshold"] == pytest.approx(found["threshold"])
        assert row["score"] == pytest.approx(found["results"][0]["confidence"], abs=1e-6)
        assert row["inputs"]["hits"][0]["slug"] == found["results"][0]["slug"]
        assert "MiniLM" in row["version"]
    assert first["action"] == "answer"
    # The staff search (agents' suggestions) is no bot decision: nothing logged.
    client.get("/api/v1/kb/search", params={"q": "shipping"}, headers=staff_headers(client))
    assert len(decisions(database_url, "kb_answer")) == 3


def test_each_retention_offer_decision_is_logged_offer_or_not(client, widget, database_url):
    url = f"/api/v1/service/conversations/{widget['conversation_id']}/retention-offer"
    body = client.post(url, headers=SERVICE_HEADERS).json()
    assert body["offer"] is None  # no churn model in this database: no score, no offer
    (only,) = decisions(database_url, "retention_offer")
    assert only["action"] == "no_offer" and only["conversation_id"] == widget["conversation_id"]
    assert only["threshold"] == pytest.approx(body["threshold"]) and only["customer_id"] is not None
    assert only["inputs"]["contract"] and only["reasons"] == ["no churn score: no production churn model"]


def wait_for(predicate, timeout_s: float = 30.0):
    """`predicate`'s first truthy value; `timeout_s` is a liveness bound (the routing loop's own clock)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_assignment_logs_which_agent_and_why_once_per_offer(client, widget, database_url):
    alex = staff_headers(client, "alex@northwind.example")
    assert client.put("/api/v1/agents/me/status", json={"status": "online"}, headers=alex).status_code == 200
    url = f"/api/v1/service/conversations/{widget['conversation_id']}/handoff"
    case_id = client.post(url, json={"reason": "asked for a person"}, headers=SERVICE_HEADERS).json()[
        "case_id"
    ]
    (routed,) = wait_for(lambda: decisions(database_url, "routing", case_id=case_id))
    routing_rounds(client)  # more rounds of the routing loop: still one decision, the case is offered once
    assert len(decisions(database_url, "routing", case_id=case_id)) == 1
    assigned = client.get(f"/api/v1/cases/{case_id}", headers=alex).json()["assigned_agent_id"]
    assert routed["action"] == f"agent:{assigned}" and routed["version"] == "rules"
    assert assigned in routed["inputs"]["eligible_agents"] and routed["inputs"]["agent_load"] == 0
    assert routed["inputs"]["skill"] == "general" and routed["conversation_id"] == widget["conversation_id"]


def test_the_action_servers_search_names_the_conversation(monkeypatch):
    """The action server's client (actions/backend_client.py) sends the Rasa sender id along, so the backend
    can log the answer-or-not decision in that conversation."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"query": "q", "threshold": 0.5, "answerable": False, "results": []})

    transport = httpx.MockTransport(answer)
    client = lambda: httpx.AsyncClient(base_url="http://backend", transport=transport)  # noqa: E731
    monkeypatch.setattr(backend_client, "_client", client)
    asyncio.run(backend_client.search_knowledge("how much is plus?", conversation_id="conv-42"))
    asyncio.run(backend_client.search_knowledge("how much is plus?"))
    assert dict(seen[0].url.params) == {"q": "how much is plus?", "k": "3", "conversation_id": "conv-42"}
    assert "conversation_id" not in seen[1].url.params
