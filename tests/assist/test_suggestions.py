"""Suggested replies: a knowledge passage and a past agent reply of a seeded resolved case, PII-redacted, with
their sources; what the agent did with them lands in the decision log."""

import itertools

import pytest

from tests.app_fixtures import staff_headers
from tests.assist.seeding import conversation, customer_id, online
from tests.decisions.helpers import decisions

PAST_REPLY = (
    "Hi Maria Lopez, standard shipping to Canada takes 5 to 8 business days. I sent the tracking details to "
    "maria.lopez@example.com, or call me on 4155550134."
)
PII = ("maria", "lopez", "@example.com", "4155550134")


@pytest.fixture
def cases(database_url):
    alex = online(database_url, "alex@northwind.example")
    past = conversation(
        database_url,
        None,
        ["How long will delivery to Canada take with standard shipping?"],
        [PAST_REPLY],
        alex,
    )
    demo = customer_id(database_url, "demo@northwind.example")
    now = conversation(
        database_url,
        demo,
        ["How long does standard shipping take to Canada?"],
        [],
        alex,
        status="accepted",
        days_ago=0,
    )
    return {"past": past, "now": now, "alex": alex}


def test_suggestions_hold_a_passage_and_a_redacted_past_reply_with_sources(cases, client):
    alex = staff_headers(client)
    answer = client.get(f"/api/assist/cases/{cases['now']['case_id']}/suggestions?k=10", headers=alex)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    found = body["suggestions"]
    kinds = {s["kind"] for s in found}
    assert kinds == {"kb", "reply"}, found
    passage = next(s for s in found if s["kind"] == "kb")
    assert passage["source"]["article"] and passage["source"]["url"].startswith("/kb/")
    reply = next(s for s in found if s["kind"] == "reply")
    assert reply["id"] == f"reply:{cases['past']['replies'][0]}"
    assert reply["source"]["conversation_id"] == cases["past"]["conversation_id"] and reply["source"]["date"]
    assert "5 to 8 business days" in reply["text"]
    for suggestion in found:
        assert not any(p in suggestion["text"].lower() for p in PII), suggestion["text"]
    assert scores_descend(found)
    assert body["question_message_id"] == cases["now"]["questions"][0]


def scores_descend(found: list[dict]) -> bool:
    return all(a["score"] >= b["score"] for a, b in itertools.pairwise(found))


def test_used_edited_and_ignored_suggestions_are_decision_rows(cases, client, database_url):
    alex = staff_headers(client)
    case_id = cases["now"]["case_id"]
    answer = client.get(f"/api/assist/cases/{case_id}/suggestions", headers=alex)
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    reply = next(s for s in shown["suggestions"] if s["kind"] == "reply")
    (logged_shown,) = decisions(database_url, "suggestion", action="shown")
    assert logged_shown["id"] == shown["shown_decision_id"] and logged_shown["case_id"] == case_id
    assert reply["id"] in [s["id"] for s in logged_shown["inputs"]["suggestions"]]

    def send_and_report(text: str, used: dict | None) -> dict:
        sent = client.post(f"/api/v1/cases/{case_id}/messages", json={"text": text}, headers=alex).json()
        body = {"shown_decision_id": shown["shown_decision_id"], "message_id": sent["id"]}
        if used is not None:
            body |= {"used": used["id"], "suggestion_text": used["text"]}
        answer = client.post(f"/api/assist/cases/{case_id}/suggestions/outcome", json=body, headers=alex)
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert send_and_report(reply["text"], reply)["action"] == "used"
    assert send_and_report(reply["text"] + " Anything else?", reply)["action"] == "edited"
    assert send_and_report("Let me check that for you.", None)["action"] == "ignored"
    rows = decisions(database_url, "suggestion", case_id=case_id)
    assert [r["action"] for r in rows] == ["shown", "used", "edited", "ignored"]
    used, edited, _ = rows[1:]
    assert used["inputs"]["suggestion_id"] == reply["id"] and used["score"] == pytest.approx(1.0)
    assert edited["score"] < 1.0 and edited["message_id"] is not None
    assert all(r["inputs"]["shown_decision_id"] == shown["shown_decision_id"] for r in rows[1:])

    bad = {
        "shown_decision_id": shown["shown_decision_id"],
        "message_id": rows[1]["message_id"],
        "used": "kb:nope",
    }
    refused = client.post(f"/api/assist/cases/{case_id}/suggestions/outcome", json=bad, headers=alex)
    assert refused.status_code == 422 and "not among the suggestions" in refused.json()["detail"]
