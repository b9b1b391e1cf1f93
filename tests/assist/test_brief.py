"""The hand-off brief: every statement cites a message of its conversation, and the hand-off reason is the
decision row's."""

from backend.assist.brief import order_passages
from tests.app_fixtures import staff_headers
from tests.dbcheck import rows
from tests.decisions.helpers import decisions, parses, send


def test_the_brief_cites_real_messages_and_the_decision_rows_reason(client, widget, database_url, rasa):
    rasa.answer = parses(("order_status", "neutral"), ("complaint", "negative"), ("complaint", "negative"))
    send(client, widget, "Where is my order ORD-100001?")
    send(client, widget, "this is taking forever")
    send(client, widget, "you are useless")
    conversation = widget["conversation_id"]
    handoff = next(
        d for d in decisions(database_url, "handoff", conversation_id=conversation) if d["case_id"]
    )
    agent = staff_headers(client, "jordan@northwind.example")
    answer = client.get(f"/api/assist/cases/{handoff['case_id']}/brief", headers=agent)
    assert answer.status_code == 200, answer.text
    brief = answer.json()

    ids = {
        r["id"]: r
        for r in rows(database_url, "SELECT * FROM messages WHERE conversation_id = :c", c=conversation)
    }
    assert brief["statements"] and all(s["message_id"] in ids for s in brief["statements"])
    by_section = {}
    for statement in brief["statements"]:
        by_section.setdefault(statement["section"], []).append(statement)
    wants = by_section["wants"]
    assert [ids[s["message_id"]]["text"] for s in wants] == [
        "Where is my order ORD-100001?",
        "this is taking forever",
        "you are useless",
    ]
    assert wants[0]["data"]["entities"] == {"order_id": "ORD-100001"}
    assert all(ids[s["message_id"]]["sender"] == "bot" for s in by_section["answered"])
    # The order the bot's reply named is a fact, cited from that reply.
    fact = by_section["facts"][0]
    assert fact["data"]["order"] == "ORD-100001" and "ORD-100001" in ids[fact["message_id"]]["text"]
    assert ids[fact["message_id"]]["sender"] == "bot"
    assert by_section["sentiment"][-1]["data"]["negative_streak"] == 2

    assert brief["handover_reason"] == "; ".join(handoff["reasons"]) == "two dissatisfied messages in a row"
    assert brief["handover_decision_id"] == handoff["id"]
    (handover,) = by_section["handover"]
    assert handover["message_id"] == handoff["message_id"]
    # The turn that handed over, in the customer's words: a message the bot read as small talk is not among
    # the wants, so this is where the agent sees it.
    assert handover["text"].endswith(f", after “{ids[handoff['message_id']]['text']}”")


def test_a_case_out_of_sight_is_404(client):
    assert client.get("/api/assist/cases/999999/brief", headers=staff_headers(client)).status_code == 404


def test_an_order_fact_keeps_the_sentences_about_that_order_and_no_other():
    reply = (
        "I'm sorry, order ORD-100002 is delayed. It's with UPS (tracking number 1Z3618535667); it was due on "
        "Tuesday, October 20. Order ORD-100003 was delivered on Monday. Items: Headlamp 400."
    )
    assert order_passages(reply) == [
        (
            ["ORD-100002"],
            [
                "I'm sorry, order ORD-100002 is delayed.",
                "It's with UPS (tracking number 1Z3618535667); it was due on Tuesday, October 20.",
            ],
        ),
        (["ORD-100003"], ["Order ORD-100003 was delivered on Monday.", "Items: Headlamp 400."]),
    ]
    assert order_passages("Thanks, anything else?") == []
