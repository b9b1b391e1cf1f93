"""A clicked quick reply is stored as its title and sent to Rasa as its payload, from the bot's latest turn
only (the hub reads the buttons with the conversation's row, backend/conversations/service.py)."""

from collections.abc import Callable
from typing import Any

from contract.quick_replies import CUSTOMER_TEXT_KEY, PERSON_OFFER_BUTTONS, RETENTION_BUTTONS
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


PERSON_OFFER = [dict(b) for b in PERSON_OFFER_BUTTONS]
RETENTION = [dict(b) for b in RETENTION_BUTTONS]


def test_a_yes_typed_in_words_to_an_offer_of_a_person_goes_to_rasa_as_the_yes(
    client, widget, rasa: ScriptedRasa, database_url
):
    rasa.answer = offering(None, PERSON_OFFER)
    send(client, widget, "my parcel is two weeks late")
    typed = "ok then yes please, send a new one and get someone to chase the carrier"
    assert send(client, widget, typed).status_code == 200
    assert rasa.calls[-1]["message"] == "/affirm"
    assert rasa.calls[-1]["metadata"][CUSTOMER_TEXT_KEY] == typed  # the agent's brief quotes it
    assert CUSTOMER_TEXT_KEY not in rasa.calls[-2]["metadata"]
    customers = "SELECT text FROM messages WHERE conversation_id = :c AND sender = 'customer' ORDER BY id"
    assert rows(database_url, customers, c=widget["conversation_id"])[-1]["text"] == typed


def test_a_worded_yes_to_the_retention_offer_or_to_no_offer_goes_as_typed(client, widget, rasa: ScriptedRasa):
    for buttons, typed in (
        (RETENTION, "yes please, go ahead"),
        (None, "yes please do"),
        (YES_NO, "yeah pls"),
    ):
        rasa.answer = offering(buttons)
        send(client, widget, f"a question about {typed}")
        assert send(client, widget, typed).status_code == 200
        assert rasa.calls[-1]["message"] == typed


def test_a_yes_taken_back_or_answering_something_else_goes_as_typed(client, widget, rasa: ScriptedRasa):
    rasa.answer = offering(None, PERSON_OFFER)
    for n, typed in enumerate(
        ("yes but not today", "yes it turned up this morning", "yes please " + "x" * 160)
    ):
        send(client, widget, f"where is my parcel? ({n})")
        assert send(client, widget, typed).status_code == 200
        assert rasa.calls[-1]["message"] == typed


def test_the_cancellation_asked_again_in_words_turns_the_retention_offer_down(
    client, widget, rasa: ScriptedRasa
):
    rasa.answer = offering(RETENTION)
    send(client, widget, "please cancel my subscription")
    assert send(client, widget, "appreciated, but my mind's made up: cancel it").status_code == 200
    assert rasa.calls[-1]["message"] == "/deny"
