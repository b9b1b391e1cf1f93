"""The outcome job: a cancellation seen inside the window counts and is final at once; still subscribed once
the window has passed; an erased customer's outcome stays unknown; a case within 7 days is a hand-off."""

from __future__ import annotations

import json
from datetime import timedelta

from backend.core.database import utcnow
from tests.app_fixtures import SERVICE_HEADERS
from tests.dbcheck import execute, rows
from tests.experiments.helpers import RETENTION, ask_to_cancel, customers, join, start_experiment


def outcomes(database_url: str) -> dict[int, dict]:
    found = rows(database_url, "SELECT customer_id, outcome, outcome_final FROM experiment_assignments")
    return {
        r["customer_id"]: {
            "outcome": json.loads(r["outcome"]) if isinstance(r["outcome"], str) else r["outcome"],
            "final": bool(r["outcome_final"]),
        }
        for r in found
    }


def test_outcomes_are_joined_from_the_crm(client, database_url):
    start_experiment(client, RETENTION)
    stays, cancels, erased = [p for p in customers(database_url, 10) if p["marketing_consent"]][:3]
    for person in (stays, cancels, erased):
        ask_to_cancel(client, person["email"])
    execute(database_url, "UPDATE customers SET status = 'cancelled' WHERE id = :c", c=cancels["id"])
    execute(database_url, "UPDATE customers SET status = 'erased' WHERE id = :c", c=erased["id"])
    assert join(database_url) == 3
    now = outcomes(database_url)
    assert now[cancels["id"]]["outcome"]["still_subscribed_30d"] is False
    assert now[stays["id"]]["outcome"]["still_subscribed_30d"] is None and not now[stays["id"]]["final"]
    # Within 7 days a case is opened for the staying customer: a hand-off, known at once.
    conversation = rows(
        database_url, "SELECT id FROM conversations WHERE customer_id = :c LIMIT 1", c=stays["id"]
    )[0]["id"]
    client.post(
        f"/api/v1/service/conversations/{conversation}/handoff", json={"reason": "wants a person"},
        headers=SERVICE_HEADERS,
    ).raise_for_status()  # fmt: skip
    join(database_url)
    assert outcomes(database_url)[stays["id"]]["outcome"]["handed_over_7d"] is True
    join(database_url, utcnow() + timedelta(days=31))
    later = outcomes(database_url)
    assert later[stays["id"]]["outcome"]["still_subscribed_30d"] is True and later[stays["id"]]["final"]
    assert later[erased["id"]]["outcome"]["still_subscribed_30d"] is None and later[erased["id"]]["final"]
    assert later[cancels["id"]]["outcome"]["handed_over_7d"] is False
    assert join(database_url, utcnow() + timedelta(days=32)) == 0  # final outcomes are never read again
