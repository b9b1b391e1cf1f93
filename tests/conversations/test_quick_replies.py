"""A clicked quick reply is stored as its title and sent to Rasa as its payload, from the bot's latest turn
only (the hub reads the buttons with the conversation's row, backend/conversations/service.py)."""

from collections.abc import Callable
from typing import Any

from tests.app_fixtures import ScriptedRasa, default_answer
from tests.conversations.test_message_path import send
from tests.dbcheck import rows

YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


def offering(*buttons: list[dict[str, str]] | None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Rasa's answer with one reply per entry of `buttons` (None: a reply without buttons)."""

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        sender = body["sender"]
        messages = [
            {"recipient_id": sender, "text": f"reply {i}", "buttons": b} for i, b in enumerate(buttons)
        ]
        return {**default_answer(body), "messages": [{k: v for k, v in m.items() if v} for m in messages]}

    return answer


def test_a_title_of_the_latest_turn_goes_to_rasa_as_its_payload(
    client, widget, rasa: ScriptedRasa, database_url
):
    rasa.answer = offering(None, YES_NO)
    assert send(client, widget, "can I cancel my order?").status_code == 200
    assert send(client, widget, "Yes").status_code == 200
    assert rasa.calls[-1]["message"] == "/affirm"
    customers = "SELECT text FROM messages WHERE conversation_id = :c AND sender = 'customer' ORDER BY id"
    stored = rows(database_url, customers, c=widget["conversation_id"])
    assert [r["text"] for r in stored] == ["can I cancel my order?", "Yes"]


def test_buttons_of_an_earlier_turn_and_other_text_go_as_typed(client, widget, rasa: ScriptedRasa):
    rasa.answer = offering(YES_NO)
    send(client, widget, "hello")
    rasa.answer = offering(None, [{"title": "Track it", "payload": "/track"}])
    send(client, widget, "where is my parcel?")
    for typed in ("No", "track it", "/deny"):
        assert send(client, widget, typed).status_code == 200
        assert rasa.calls[-1]["message"] == typed
        rasa.answer = offering(None)


def test_a_conversation_with_no_bot_turn_yet_is_answered(client, widget, rasa: ScriptedRasa):
    assert send(client, widget, "No").status_code == 200
    assert rasa.calls[-1]["message"] == "No"
