"""The privacy worker fills the redacted copy of new messages off the customer's turn, using the names the
CRM knows (the linked customer, the staff) on top of NER."""

import time

import pytest
from fastapi.testclient import TestClient

from tests.app_fixtures import anonymous_widget
from tests.dbcheck import execute, rows
from tests.privacy.conftest import PII, say, widget_for


@pytest.fixture
def settings(settings):  # a faster loop than production
    return settings.model_copy(update={"redaction_interval_s": 0.1})


def test_new_messages_get_their_redacted_copy_in_the_background(client: TestClient, database_url):
    execute(
        database_url, "UPDATE customers SET name = :n WHERE email = 'demo@northwind.example'", n=PII["name"]
    )
    widget = widget_for(client, "demo@northwind.example")
    # Lower case and no cue: NER alone would likely miss it; the linked customer's name is known.
    say(client, widget, f"zebulon quixworth again, card {PII['card']}, where is ORD-100001")
    deadline = time.monotonic() + 120  # the first round loads spaCy (seconds; more on a loaded machine)
    query = "SELECT sender, text, text_redacted FROM messages WHERE conversation_id = :c ORDER BY id"
    while any(r["text_redacted"] is None for r in rows(database_url, query, c=widget["conversation_id"])):
        assert time.monotonic() < deadline, "the worker did not redact the new messages"
        time.sleep(0.1)
    stored = rows(database_url, query, c=widget["conversation_id"])
    assert stored[0]["text"].startswith("zebulon quixworth")  # the original is untouched
    assert stored[0]["text_redacted"] == "[NAME] again, card [CARD], where is ORD-100001"
    assert stored[1]["sender"] == "bot" and "[CARD]" in stored[1]["text_redacted"]


def test_a_visitors_reply_with_the_email_on_an_order_is_redacted_like_any_message(client: TestClient):
    """The address an anonymous visitor gives for an order's look-up (README "Security") is a customer
    message like any other: stored as typed (the agent may need it), and redacted in the copy that analytics
    and training read, whatever the words around it."""
    widget = anonymous_widget(client)
    replies = ["Jane.Doe@Example.com", "it's jane.doe+orders@mail.example.co.uk I think", "ORD-100001 a@b.ie"]
    for text in replies:
        say(client, widget, text)
    database_url = client.app.state.settings.database_url
    query = "SELECT text, text_redacted FROM messages WHERE conversation_id = :c AND sender = 'customer'"
    deadline = time.monotonic() + 120  # the first round loads spaCy (seconds; more on a loaded machine)
    while any(r["text_redacted"] is None for r in rows(database_url, query, c=widget["conversation_id"])):
        assert time.monotonic() < deadline, "the worker did not redact the new messages"
        time.sleep(0.1)
    stored = rows(database_url, query, c=widget["conversation_id"])
    assert [r["text"] for r in stored] == replies
    assert [r["text_redacted"] for r in stored] == ["[EMAIL]", "it's [EMAIL] I think", "ORD-100001 [EMAIL]"]
