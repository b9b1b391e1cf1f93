"""Strict request validation: unknown fields and out-of-range values are a 422 that names the problem."""

from fastapi.testclient import TestClient

from tests.security.conftest import Callers


def test_unknown_body_fields_are_refused_by_name(app_client: TestClient, callers: Callers):
    session = app_client.post("/api/v1/widget/sessions", json={"customer_emial": "typo@example.com"})
    assert session.status_code == 422 and "customer_emial" in session.text
    handoff = app_client.post(
        f"/api/v1/service/conversations/{callers.conversation_a}/handoff",
        json={"reason": "asked for a person", "priority": "urgent"},
        headers=callers.headers["service"],
    )
    assert handoff.status_code == 422 and "priority" in handoff.text


def test_ids_and_offsets_beyond_the_database_range_are_a_422(app_client: TestClient, callers: Callers):
    staff = callers.headers["admin"]
    too_big = 2**63
    urls = [f"/api/v1/cases/{too_big}", f"/api/v1/customers/{too_big}", f"/api/v1/cases?offset={too_big}"]
    for url in urls:
        response = app_client.get(url, headers=staff)
        assert response.status_code == 422, (url, response.text)
        assert "less than or equal to 9223372036854775807" in response.text
