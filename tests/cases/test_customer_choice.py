"""The customer may ask for the bot or for a person at any time: while waiting in the queue the widget lets
the bot help instead (the waiting case is cancelled with its reason), and asking the bot for a person again
(request_human) queues them anew."""

import pytest

from tests.cases.test_routing_flow import case_row, go_online, hand_off, wait_for
from tests.dbcheck import rows
from tests.handoff.test_handoff_policy import parses
from tests.lifecycle.test_bot_and_person import conversation, say


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"routing_interval_s": 0.05})


def bot_instead(client, widget):
    url = f"/api/v1/widget/conversations/{widget['conversation_id']}/handback"
    return client.post(url, headers={"Authorization": widget["auth"]})


def test_a_waiting_customer_goes_back_to_the_bot_and_can_ask_for_a_person_again(
    client, widget, rasa, database_url
):
    case_id = hand_off(client, widget)  # nobody online: it waits in the queue
    assert conversation(database_url, widget["conversation_id"])["owner"] == "human"

    back = bot_instead(client, widget)
    assert back.status_code == 200, back.text
    assert back.json()["sender"] == "system" and "virtual assistant" in back.json()["text"]
    case = case_row(database_url, case_id)
    assert case["status"] == "resolved" and case["disposition"] == "customer_chose_bot"
    assert conversation(database_url, widget["conversation_id"])["owner"] == "bot"
    audited = rows(
        database_url, "SELECT actor, after FROM audit_events WHERE action = 'case.cancel' AND entity_id = :i",
        i=str(case_id),
    )  # fmt: skip
    assert audited[0]["actor"] == "customer" and "asked for the bot" in str(audited[0]["after"])
    # Nothing waits any more: a second press is refused, and the widget shows no place in the queue.
    assert bot_instead(client, widget).status_code == 409
    place = client.get(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/queue",
        headers={"Authorization": widget["auth"]},
    )
    assert place.json()["position"] is None

    # The bot answers again; asking it for a person (request_human) opens a new waiting case.
    calls = len(rasa.calls)
    rasa.answer = parses(("request_human", "neutral"))
    turn = say(client, widget, "actually, a person please")
    assert len(rasa.calls) == calls + 1 and turn["replies"]
    again = rows(
        database_url, "SELECT id, status, reason FROM cases WHERE conversation_id = :c ORDER BY id",
        c=widget["conversation_id"],
    )  # fmt: skip
    assert [c["status"] for c in again] == ["resolved", "queued"]
    assert again[1]["reason"] == "the customer asked for a person"
    assert conversation(database_url, widget["conversation_id"])["owner"] == "human"


def test_once_an_agent_has_the_case_the_customer_cannot_cancel_it(client, widget, database_url):
    go_online(client, "alex@northwind.example")
    case_id = hand_off(client, widget)
    wait_for(lambda: case_row(database_url, case_id)["status"] == "assigned")
    refused = bot_instead(client, widget)
    assert refused.status_code == 409 and "already taken" in refused.json()["detail"]
    assert case_row(database_url, case_id)["status"] == "assigned"


def test_without_a_waiting_case_there_is_nothing_to_cancel(client, widget):
    assert bot_instead(client, widget).status_code == 409


def test_another_conversations_token_cannot_cancel(client, widget):
    hand_off(client, widget)
    other = client.post("/api/v1/widget/sessions", json={}).json()
    url = f"/api/v1/widget/conversations/{widget['conversation_id']}/handback"
    assert client.post(url, headers={"Authorization": f"Bearer {other['token']}"}).status_code == 403
