"""A charge reported as wrong, through the real stack (issue 14): the billing answer ends on a yes/no offer
of the billing team, so the customer's "yes" is a yes to a person, not to "anything else?"
(actions/billing.py)."""

import pytest

from contract.service_api import HANDOFF_MESSAGE
from scripts.stack import Stack
from tests.e2e.test_coherent_dialogue import cases_of, one_voice, turn
from tests.e2e.test_message_path import open_session

pytestmark = pytest.mark.e2e
ANYTHING_ELSE = "Is there anything else I can help you with?"


def test_a_double_charge_is_offered_the_billing_team_and_a_yes_hands_over(stack: Stack):
    session = open_session(stack)
    answer = turn(stack, session, "I was charged twice for my subscription this month")
    one_voice(answer)
    texts = [r["text"] for r in answer]
    assert any("Account > Billing > Invoices" in t for t in texts), texts
    assert ANYTHING_ELSE not in texts and not any('"talk to a person"' in t for t in texts), texts
    if HANDOFF_MESSAGE in texts:  # the hand-off policy took the turn over: nothing left to accept
        return
    [offer] = [r for r in answer if r.get("buttons")]
    assert "billing team" in offer["text"]
    assert [b["payload"] for b in offer["buttons"]] == ["/affirm", "/deny"]

    accepted = [r["text"] for r in turn(stack, session, "yes please")]
    assert HANDOFF_MESSAGE in accepted, accepted
    assert len(cases_of(stack, session)) == 1


def test_a_question_about_paying_gets_the_answer_and_anything_else(stack: Stack):
    session = open_session(stack)
    texts = [r["text"] for r in turn(stack, session, "when is my next payment due?")]
    assert any("Account > Billing > Invoices" in t and "ask for a person" in t for t in texts), texts
    assert texts[-1] == ANYTHING_ELSE, texts
    assert cases_of(stack, session) == []
