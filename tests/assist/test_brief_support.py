"""The brief-support verifier (ml/brief_support.py, in make eval-assist): a brief made by the product passes
it, statement by statement, and each kind of unsupported claim an agent could be misled by is caught."""

import copy
from collections.abc import Callable
from typing import Any

import pytest

from ml.brief_support import Stored, verify
from tests.app_fixtures import default_answer, staff_headers
from tests.assist.seeding import conversation
from tests.dbcheck import rows
from tests.decisions.helpers import decisions, send

ORDER_REPLY = "Order ORD-100001 was shipped on Monday and costs $14.99 to return. Anything else?"
CITATION = {"title": "Shipping times", "url": "/kb/shipping-times"}
AFTER = "It was a birthday present, can you send it by express?"


def scripted(body: dict[str, Any], turn: list[int]) -> dict[str, Any]:
    """Turn 1: an order question the bot answers with the order's status and an article; then two
    dissatisfied messages, so the rules hand over."""
    answer = default_answer(body)
    turn[0] += 1
    if turn[0] == 1:
        answer["messages"] = [
            {"recipient_id": body["sender"], "text": ORDER_REPLY},
            {"recipient_id": body["sender"], "custom": {"citations": [CITATION]}},
        ]
        return answer
    answer["parse"]["intent"] = {"name": "complaint", "confidence": 0.87}
    answer["parse"]["entities"] = []
    answer["parse"]["sentiment"] = {"label": "negative", "score": -0.8 + turn[0] / 100, "confidence": 0.9}
    return answer


@pytest.fixture
def case(client, widget, rasa, database_url) -> dict[str, Any]:
    turn = [0]
    rasa.answer = lambda body: scripted(body, turn)
    for text in ("Where is my order ORD-100001?", "this is taking forever", "you are useless", AFTER):
        send(client, widget, text)  # the last after the hand-off: the bot is not asked
    conversation = widget["conversation_id"]
    handoff = next(
        d for d in decisions(database_url, "handoff", conversation_id=conversation) if d["case_id"]
    )
    agent = staff_headers(client, "jordan@northwind.example")
    answer = client.get(f"/api/assist/cases/{handoff['case_id']}/brief", headers=agent)
    assert answer.status_code == 200, answer.text
    stored = Stored(
        {
            m["id"]: m
            for m in rows(database_url, "SELECT * FROM messages WHERE conversation_id = :c", c=conversation)
        },
        rows(database_url, "SELECT * FROM cases WHERE id = :i", i=handoff["case_id"])[0],
        decisions(database_url, "handoff", conversation_id=conversation),
    )
    return {"brief": answer.json(), "stored": stored}


def test_a_product_brief_is_supported_statement_by_statement(case):
    brief, stored = case["brief"], case["stored"]
    verdicts = verify(brief, stored)
    assert [v.problems for v in verdicts if not v.supported] == []
    sections = {v.statement["section"] for v in verdicts}
    assert sections == {"wants", "answered", "facts", "sentiment", "handover"}
    unread = [s for s in brief["statements"] if s["text"].startswith("Wrote, not read by the bot")]
    assert [s["text"] for s in unread] == [f"Wrote, not read by the bot: “{AFTER}”"]
    trend = next(s for s in brief["statements"] if s["text"].startswith("Sentiment "))
    assert len(trend["sources"]) == 3  # the first scored message, and the two negative ones at the end


def first(section: str, starts: str = "") -> Callable[[dict[str, Any]], dict[str, Any]]:
    def pick(brief: dict[str, Any]) -> dict[str, Any]:
        return next(
            s for s in brief["statements"] if s["section"] == section and s["text"].startswith(starts)
        )

    return pick


def replace(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(statement: dict[str, Any]) -> None:
        assert old in statement["text"], statement["text"]
        statement["text"] = statement["text"].replace(old, new, 1)

    return change


def cite_only_last(statement: dict[str, Any]) -> None:
    statement["sources"] = [statement["message_id"]]


def said_unread(statement: dict[str, Any]) -> None:
    statement["text"] = "Wrote, not read by the bot: “" + statement["text"].split(": “", 1)[1]


# Each: which statement, how it is made wrong, and the words of the problem the verifier must report.
TAMPERED = {
    "an unread message said to be read": (
        first("wants", "Wrote"),
        replace("Wrote, not read by the bot", "Asked about order status (0.91)"),
        "parsed as",
    ),
    "a read message said to be unread": (
        first("wants", "Asked about order status"),
        said_unread,
        "said to be unread",
    ),
    "another intent": (first("wants"), replace("order status", "return refund"), "parsed as"),
    "another confidence": (first("wants", "Asked about order status"), replace("0.91", "0.97"), "confidence"),
    "an entity not parsed": (first("wants"), replace("ORD-100001)", "ORD-100002)"), "entity"),
    "a misquote": (first("wants"), replace("Where is", "Where was"), "quotation"),
    "an article not cited": (first("answered"), replace("Shipping times", "Returns"), "citations"),
    "another order": (first("facts"), replace("Order ORD-100001:", "Order ORD-100009:"), "ORD-100009"),
    "another amount": (first("facts"), replace("$14.99", "$4.99"), "quotation"),
    "another score": (first("sentiment", "negative"), replace("(-0.7", "(-0.5"), "stored"),
    "a trend citing only its last message": (first("sentiment", "Sentiment "), cite_only_last, "first"),
    "a trend the scores do not show": (
        first("sentiment", "Sentiment "),
        replace("fell", "rose"),
        "scores say",
    ),
    "another reason": (first("handover"), replace("two dissatisfied", "three dissatisfied"), "stored one"),
    "another policy": (first("handover"), replace("(rules)", "(learnt-v2)"), "not the decision's"),
    "another trigger": (first("handover"), replace("after “you are", "after “you were"), "quotation"),
}


def test_each_unsupported_claim_is_caught_and_only_it(case):
    for name, (pick, change, problem) in TAMPERED.items():
        brief = copy.deepcopy(case["brief"])
        statement = pick(brief)
        change(statement)
        verdicts = verify(brief, case["stored"])
        (wrong,) = [v for v in verdicts if v.statement is statement]
        assert not wrong.supported and any(problem in p for p in wrong.problems), (name, wrong.problems)
        assert all(v.supported for v in verdicts if v is not wrong), name


def test_a_statement_citing_another_conversations_message_is_caught(case, database_url):
    brief = copy.deepcopy(case["brief"])
    (other,) = conversation(database_url, None, ["Where is my order ORD-100001?"], [], None)["questions"]
    statement = first("answered")(brief)
    statement["message_id"], statement["sources"] = other, [other]
    (verdict,) = [v for v in verify(brief, case["stored"]) if v.statement is statement]
    assert any("not in what was handed over" in p for p in verdict.problems), verdict.problems
