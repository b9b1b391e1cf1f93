"""A signed-in shopper who asks about "my order" without its number picks it from their latest orders, through
the real stack (backend, Rasa, actions): the button's title is what they send, as the widget does, and the
look-up answers for that order. A visitor is asked for the number alone."""

import pytest

from scripts.stack import Stack
from tests.dbcheck import rows
from tests.e2e.test_coherent_dialogue import turn
from tests.e2e.test_message_path import open_session

pytestmark = pytest.mark.e2e
SHOPPER = "demo@northwind.example"


def test_a_signed_in_shopper_picks_the_order_from_their_latest(stack: Stack):
    session = open_session(stack, email=SHOPPER)
    [question] = [r for r in turn(stack, session, "where is my order?") if r.get("buttons")]
    assert question["text"].startswith("Which order is it about?"), question
    latest = rows(
        stack.config.database_url,
        "SELECT o.order_number FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email = :e "
        "ORDER BY o.placed_at DESC, o.id DESC LIMIT 3",
        e=SHOPPER,
    )
    assert [b["title"].split()[0] for b in question["buttons"]] == [r["order_number"] for r in latest]

    picked = question["buttons"][-1]
    answer = " ".join(r["text"] for r in turn(stack, session, picked["title"]))
    assert latest[-1]["order_number"] in answer, answer


def test_a_visitor_is_asked_for_the_number(stack: Stack):
    session = open_session(stack, email=None)
    replies = turn(stack, session, "where is my order?")
    assert [r["text"] for r in replies][-1].startswith("What's your order number?"), replies
    assert not any(r.get("buttons") for r in replies)
