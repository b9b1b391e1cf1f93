"""The bot's offer of a person asks the backend first: one of the two owns the turn (issue 14).

The app's hand-off policy here is the rules policy (tests/app_fixtures.py): two dissatisfied messages in a row
hand over. The turn being answered reaches the route as the bot parsed it; earlier turns are the stored ones.
"""

from typing import Any

from fastapi.testclient import TestClient

from contract.embedding import encode
from contract.service_api import HANDOFF_MESSAGE, PersonOfferResult
from tests.app_fixtures import SERVICE_HEADERS, TEST_EMBEDDING, ScriptedRasa, default_answer
from tests.dbcheck import rows


def angry(body: dict[str, Any]) -> dict[str, Any]:
    answer = default_answer(body)
    answer["parse"] |= {
        "intent": {"name": "complaint", "confidence": 0.9},
        "entities": [],
        "sentiment": {"label": "negative", "score": -0.8, "confidence": 0.9},
    }
    return answer


def offer(client: TestClient, conversation_id: str, label: str | None, score: float | None) -> Any:
    body = {
        "reason": "Topic: complaint",
        "intent": "complaint",
        "text": "this is the worst shop ever",
        "sentiment_label": label,
        "sentiment_score": score,
    }
    url = f"/api/v1/service/conversations/{conversation_id}/person-offer"
    return client.post(url, json=body, headers=SERVICE_HEADERS)


def complain_once(client: TestClient, rasa: ScriptedRasa, widget: dict[str, str], database_url: str) -> None:
    rasa.answer = angry
    url = f"/api/v1/widget/conversations/{widget['conversation_id']}/messages"
    headers = {"Authorization": widget["auth"]}
    response = client.post(url, json={"text": "your service is terrible"}, headers=headers)
    assert response.status_code == 200, response.text
    assert rows(database_url, "SELECT id FROM cases") == []  # one angry turn: the bot's to answer


def owner(database_url: str, widget: dict[str, str]) -> str:
    [row] = rows(database_url, "SELECT owner FROM conversations WHERE id = :c", c=widget["conversation_id"])
    return row["owner"]


def test_a_turn_the_policy_takes_over_is_handed_over_now_instead_of_offered(
    client, rasa, widget, database_url
):
    complain_once(client, rasa, widget, database_url)
    response = offer(client, widget["conversation_id"], "negative", -0.7)
    assert response.status_code == 200, response.text
    result = PersonOfferResult.from_json(response.json())
    assert result.handed_over and result.message == HANDOFF_MESSAGE and result.case_id is not None
    [case] = rows(database_url, "SELECT id, reason, status FROM cases")
    assert case["id"] == result.case_id and case["status"] == "queued"
    # The agent reads the policy's reason and the bot's brief.
    assert case["reason"].startswith("two dissatisfied messages in a row. Topic: complaint"), case
    assert owner(database_url, widget) == "human"
    audit = rows(database_url, "SELECT actor FROM audit_events WHERE action = 'case.handoff'")
    assert audit == [{"actor": "system:handoff-policy"}]


def test_a_turn_the_policy_leaves_to_the_bot_changes_nothing(client, rasa, widget, database_url):
    complain_once(client, rasa, widget, database_url)
    response = offer(client, widget["conversation_id"], "neutral", 0.0)
    assert response.status_code == 200, response.text
    assert response.json() == {"handed_over": False, "case_id": None, "message": None}
    assert rows(database_url, "SELECT id FROM cases") == []
    assert owner(database_url, widget) == "bot"


def test_a_button_payload_without_sentiment_is_read(client, rasa, widget, database_url):
    complain_once(client, rasa, widget, database_url)
    response = offer(client, widget["conversation_id"], None, None)
    assert response.status_code == 200 and response.json()["handed_over"] is False


def test_the_offer_of_an_unknown_conversation_is_404_and_needs_the_service_token(client):
    assert offer(client, "nope", None, None).status_code == 404
    response = client.post("/api/v1/service/conversations/nope/person-offer", json={})
    assert response.status_code in (401, 403)


def test_the_turns_embedding_is_read_and_a_malformed_one_is_refused(client, rasa, widget, database_url):
    complain_once(client, rasa, widget, database_url)
    url = f"/api/v1/service/conversations/{widget['conversation_id']}/person-offer"
    body = {
        "reason": "Topic: complaint",
        "intent": "complaint",
        "text": "still nothing",
        "sentiment_label": "neutral",
        "sentiment_score": 0.0,
    }
    good = client.post(url, json=body | {"embedding": TEST_EMBEDDING}, headers=SERVICE_HEADERS)
    assert good.status_code == 200, good.text
    not_finite = encode([float("nan")] + [0.0] * 383)
    for bad in ("!" * len(TEST_EMBEDDING), TEST_EMBEDDING[:-8], not_finite, 12):
        refused = client.post(url, json=body | {"embedding": bad}, headers=SERVICE_HEADERS)
        assert refused.status_code == 422, refused.text
    assert owner(database_url, widget) == "bot"
