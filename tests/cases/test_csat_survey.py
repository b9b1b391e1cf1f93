"""The satisfaction survey through the API: the 1-5 score first (what analytics, automation and the decision
outcomes read, unchanged), then up to two configured questions, rating or short text; answers are checked
against the configuration, free text is stored redacted, and the case and the conversation export show
them."""

import pytest
from pydantic import ValidationError

from backend.core.config import Settings
from tests.app_fixtures import staff_headers
from tests.cases.test_routing_flow import case_row, go_online, hand_off, wait_for

RESOLVED = {"id": "resolved", "kind": "rating", "text": "Did we solve your problem?"}
COMMENT = {"id": "comment", "kind": "text", "text": "Anything we could do better?"}


@pytest.fixture
def settings(settings):
    extra = [RESOLVED, COMMENT]
    return settings.model_validate(
        {**settings.model_dump(), "routing_interval_s": 0.05, "csat_extra_questions": extra}
    )


def resolved_case(client, widget, database_url) -> int:
    alex = go_online(client, "alex@northwind.example")
    case_id = hand_off(client, widget)
    wait_for(lambda: case_row(database_url, case_id)["status"] == "assigned")
    done = client.post(f"/api/v1/cases/{case_id}/resolve", json={"disposition": "solved"}, headers=alex)
    assert done.status_code == 200
    return case_id


def survey_url(widget) -> str:
    return f"/api/v1/widget/conversations/{widget['conversation_id']}/csat"


def answer(client, widget, body: dict):
    return client.post(survey_url(widget), json=body, headers={"Authorization": widget["auth"]})


def test_the_widget_reads_three_questions_the_score_first(client, widget):
    questions = client.get(survey_url(widget), headers={"Authorization": widget["auth"]}).json()
    assert [q["id"] for q in questions] == ["satisfaction", "resolved", "comment"]
    assert [q["kind"] for q in questions] == ["rating", "rating", "text"]
    assert questions[0]["text"].startswith("How did we do?")


@pytest.mark.parametrize(
    "answers",
    [
        {"colour": 3},  # no such question
        {"resolved": 6},  # out of range
        {"resolved": 0},
        {"resolved": "5"},  # a rating is a number
        {"resolved": True},
        {"comment": 4},  # a text question takes text
        {"comment": "x" * 501},  # too long
    ],
)
def test_answers_the_survey_does_not_ask_for_are_refused(client, widget, database_url, answers):
    case_id = resolved_case(client, widget, database_url)
    refused = answer(client, widget, {"score": 4, "answers": answers})
    assert refused.status_code == 422, refused.text
    assert case_row(database_url, case_id)["csat"] is None  # nothing half-stored: they may try again


def test_score_out_of_range_is_refused(client, widget, database_url):
    resolved_case(client, widget, database_url)
    assert answer(client, widget, {"score": 0, "answers": {"resolved": 5}}).status_code == 422


def test_three_answers_are_stored_redacted_and_shown_on_the_case_and_the_export(client, widget, database_url):
    case_id = resolved_case(client, widget, database_url)
    comment = "  Alex was great, but call me back on +44 20 7946 0958 next time  "
    rated = answer(client, widget, {"score": 4, "answers": {"resolved": 5, "comment": comment}})
    assert rated.status_code == 200, rated.text
    body = rated.json()
    assert body["csat"] == 4  # the score stays where analytics and automation read it
    by_id = {a["id"]: a for a in body["csat_answers"]}
    assert by_id["resolved"] == {**by_id["resolved"], "rating": 5, "text": None, "question": RESOLVED["text"]}
    stored = by_id["comment"]["text"]
    assert "7946" not in stored and "[PHONE]" in stored and stored.endswith("next time")
    assert "Alex" not in stored  # a staff name the CRM knows
    assert case_row(database_url, case_id)["csat"] == 4

    supervisor = staff_headers(client, "jordan@northwind.example")
    detail = client.get(f"/api/v1/cases/{case_id}", headers=supervisor).json()
    assert detail["csat_answers"] == body["csat_answers"]
    export = client.get(f"/api/v1/conversations/{widget['conversation_id']}/export", headers=supervisor)
    assert export.status_code == 200
    assert export.json()["cases"][0]["csat_answers"] == body["csat_answers"]
    page = client.get(
        f"/api/v1/conversations/{widget['conversation_id']}/export?format=html", headers=supervisor
    ).text
    assert "Did we solve your problem? 5" in page and "Anything we could do better?" in page
    assert "[PHONE]" in page and "7946" not in page
    # Once only, as before.
    assert answer(client, widget, {"score": 5}).status_code == 409


def test_the_score_alone_still_rates_and_other_questions_may_be_skipped(client, widget, database_url):
    case_id = resolved_case(client, widget, database_url)
    rated = answer(client, widget, {"score": 2, "answers": {"comment": "slow"}})
    assert rated.status_code == 200
    assert [a["id"] for a in rated.json()["csat_answers"]] == ["comment"]
    assert case_row(database_url, case_id)["csat"] == 2


def test_the_score_without_any_other_answer_stores_none(client, widget, database_url):
    case_id = resolved_case(client, widget, database_url)
    assert answer(client, widget, {"score": 5}).json()["csat_answers"] is None
    assert case_row(database_url, case_id)["csat"] == 5


@pytest.mark.parametrize(
    "questions",
    [
        [RESOLVED, COMMENT, {"id": "third", "kind": "text", "text": "More?"}],  # four in all
        [RESOLVED, RESOLVED],
        [{"id": "satisfaction", "kind": "rating", "text": "Again?"}],
        [{"id": "Bad Id", "kind": "rating", "text": "?"}],
        [{"id": "nps", "kind": "scale", "text": "?"}],
    ],
)
def test_a_survey_of_more_than_three_or_muddled_questions_is_refused_at_start(questions):
    with pytest.raises(ValidationError):
        Settings(csat_extra_questions=questions)


def test_erasing_the_customer_erases_their_survey_text_and_keeps_the_ratings(client, widget, database_url):
    case_id = resolved_case(client, widget, database_url)
    answers = {"resolved": 2, "comment": "my cat Biscuit ate the parcel"}
    assert answer(client, widget, {"score": 3, "answers": answers}).status_code == 200
    customer_id = client.get(f"/api/v1/cases/{case_id}", headers=staff_headers(client)).json()["customer_id"]
    admin = staff_headers(client, "admin@northwind.example")
    assert client.delete(f"/api/v1/privacy/customers/{customer_id}", headers=admin).status_code == 200
    detail = client.get(f"/api/v1/cases/{case_id}", headers=admin).json()
    by_id = {a["id"]: a for a in detail["csat_answers"]}
    assert by_id["comment"]["text"] == "[erased]" and by_id["resolved"]["rating"] == 2 and detail["csat"] == 3
