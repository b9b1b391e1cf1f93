"""An anonymous visitor's order through the real stack (README "Security"): the bot asks for the email address
on the order and tells nothing about it until it is given; a wrong one is asked for again, and after
GUEST_ORDER_WRONG_EMAILS of them the bot offers a person. A question while it asks gets its own answer."""

from pathlib import Path

import pytest

from actions import messages
from contract.service_api import HANDOFF_MESSAGE
from scripts.stack import Stack
from tests.dbcheck import rows
from tests.e2e.test_coherent_dialogue import cases_of, one_voice, turn
from tests.e2e.test_message_path import open_session

pytestmark = pytest.mark.e2e
ASK_EMAIL = "What's the email address on the order?"
ORDER, OWNER = "ORD-100001", "demo@northwind.example"  # the demo shopper's first order: shipped, by UPS


def texts(replies: list[dict]) -> list[str]:
    return [r["text"] for r in replies]


def tracking_number(stack: Stack) -> str:
    query = "SELECT tracking_number FROM orders WHERE order_number = :o"
    return rows(stack.config.database_url, query, o=ORDER)[0]["tracking_number"]


def test_a_visitor_hears_about_the_order_only_after_giving_its_email(stack: Stack):
    session = open_session(stack, email=None)
    tracking = tracking_number(stack)
    asked = texts(turn(stack, session, f"hi, where is my order {ORDER}?"))
    assert asked[-1] == ASK_EMAIL and messages.order_email_needed(ORDER) in asked, asked
    assert not any(tracking in t or "UPS" in t for t in asked), asked

    wrong = texts(turn(stack, session, "it's guest.e2e.wrong@example.org"))
    assert wrong == [messages.order_email_mismatch(ORDER), ASK_EMAIL], wrong

    told = texts(turn(stack, session, f"  {OWNER.upper()}"))
    assert any(tracking in t and ORDER in t for t in told), told
    # Shown once, the order is the visitor's in this conversation: no email asked again.
    again = texts(turn(stack, session, "it's still not here"))
    assert any(ORDER in t for t in again) and ASK_EMAIL not in again, again
    # The addresses left no slot and no log line behind (the messages themselves are stored as typed).
    logs = "".join(p.read_text(errors="replace") for p in Path(stack.config.log_dir).glob("*.log"))
    assert "guest.e2e.wrong@example.org" not in logs


def test_too_many_wrong_emails_end_in_the_offer_of_a_person(stack: Stack):
    session = open_session(stack, email=None)
    turn(stack, session, f"has {ORDER} shipped?")
    for address in ("one@example.org", "two@example.org"):
        assert texts(turn(stack, session, address))[-1] == ASK_EMAIL
    offered = turn(stack, session, "three@example.org")
    one_voice(offered)
    assert not any(tracking_number(stack) in t for t in texts(offered)), offered
    if HANDOFF_MESSAGE in texts(offered):  # the hand-off policy took the turn over
        return
    assert texts(offered) == [messages.ORDER_LOOKUPS_REFUSED_OFFER], offered
    assert HANDOFF_MESSAGE in texts(turn(stack, session, "yes please"))
    assert len(cases_of(stack, session)) == 1


def test_a_question_while_the_email_is_asked_for_gets_its_own_answer(stack: Stack):
    session = open_session(stack, email=None)
    turn(stack, session, f"where is {ORDER}")
    answered = texts(turn(stack, session, "wait, am I talking to a bot?"))
    assert any("virtual assistant" in t for t in answered) and answered[-1] == ASK_EMAIL, answered
    told = texts(turn(stack, session, OWNER))
    assert any(tracking_number(stack) in t for t in told), told
