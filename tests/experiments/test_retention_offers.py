"""Retention offers through an experiment: consent, the contact cap, one decision row per call, a control
arm that gets no offer, and results equal to a recomputation from the decision log."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from backend.core.config import to_async_url
from backend.core.database import utcnow
from backend.experiments import stats
from backend.experiments.offers import OFFERS
from ml import uplift
from tests.app_fixtures import staff_headers
from tests.dbcheck import execute, rows
from tests.experiments.helpers import ADMIN, RETENTION, ask_to_cancel, customers, join, start_experiment


def decisions(database_url: str) -> list[dict]:
    found = rows(database_url, "SELECT * FROM decisions WHERE kind = 'retention_offer' ORDER BY id")
    for row in found:  # JSON columns come back as text from SQLite
        for name in ("inputs", "reasons"):
            row[name] = json.loads(row[name]) if isinstance(row[name], str) else row[name]
    return found


def test_offers_respect_consent_and_the_cap_and_log_one_row_each(client, database_url):
    start_experiment(client, RETENTION)
    people = customers(database_url, 30)
    answers = {p["id"]: ask_to_cancel(client, p["email"]) for p in people}
    logged = decisions(database_url)
    assert len(logged) == len(people)  # one row per call, offer or not
    by_customer = {row["customer_id"]: row for row in logged}
    for person in people:
        row, answer = by_customer[person["id"]], answers[person["id"]]
        assert (row["inputs"]["trigger"], row["inputs"]["cancel_intent"]) == ("cancel_request", True)
        if not person["marketing_consent"]:
            assert answer["offer"] is None and row["action"] == "no_offer"
            assert "no marketing consent" in row["reasons"] and "experiment" not in row["inputs"]
            continue
        variant = row["inputs"]["variant"]
        if variant == "control":
            assert answer["offer"] is None and row["action"] == "no_offer"
        else:
            assert answer["offer"] == OFFERS[variant].text and row["action"] == f"offer:{variant}"
    consenting = [p for p in people if p["marketing_consent"]]
    assert 0 < len(consenting) < len(people)
    enrolled = rows(database_url, "SELECT * FROM experiment_assignments")
    assert {a["customer_id"] for a in enrolled} == {p["id"] for p in consenting}
    assert {a["decision_id"] for a in enrolled} <= {row["id"] for row in logged}
    # Ask again: whoever got an offer is at the cap (1 in 30 days) and gets none; the control arm had no
    # offer, so they are still under it and keep their (sticky) arm. Still one row per call.
    again = {p["id"]: ask_to_cancel(client, p["email"]) for p in consenting}
    later = decisions(database_url)[len(people) :]
    assert len(later) == len(consenting)
    for row in later:
        first = by_customer[row["customer_id"]]
        assert again[row["customer_id"]]["offer"] is None
        if first["action"].startswith("offer:"):
            assert any(r.startswith("contact cap reached") for r in row["reasons"])
        else:
            assert row["inputs"]["variant"] == "control"
    assert len(rows(database_url, "SELECT id FROM experiment_assignments")) == len(consenting)


def test_a_customer_without_chat_in_their_preferences_gets_no_offer(client, widget, database_url):
    demo = rows(database_url, "SELECT id FROM customers WHERE email = 'demo@northwind.example'")[0]["id"]
    staff = staff_headers(client)
    changed = client.put(
        f"/api/v1/customers/{demo}/preferences",
        json={"marketing_consent": True, "contact_channels": ["email"], "max_offers_per_month": None},
        headers=staff,
    )
    assert changed.status_code == 200, changed.text
    start_experiment(client, RETENTION)
    answer = ask_to_cancel(client, "demo@northwind.example")
    assert answer["offer"] is None
    (row,) = decisions(database_url)
    assert row["reasons"] == ["the customer does not accept offers in chat"]


def test_results_equal_a_recomputation_from_the_decision_log(client, database_url):
    start_experiment(client, RETENTION)
    people = [p for p in customers(database_url, 60) if p["marketing_consent"]]
    for person in people:
        ask_to_cancel(client, person["email"])
    # Every third customer cancels within the window; the job sees it now, the rest after 30 days.
    cancelled = {p["id"] for p in people[::3]}
    for customer_id in cancelled:
        execute(database_url, "UPDATE customers SET status = 'cancelled' WHERE id = :c", c=customer_id)
    join(database_url)
    join(database_url, utcnow() + timedelta(days=31))
    admin = staff_headers(client, ADMIN)
    found = client.get("/api/experiments/retention-offers/results", headers=admin).json()
    # Independently: the first logged decision of each customer names the arm; the CRM says who stayed.
    arms: dict[str, list[int]] = {}
    for row in decisions(database_url):
        if "variant" in row["inputs"] and row["customer_id"] not in {c for a in arms.values() for c in a}:
            arms.setdefault(row["inputs"]["variant"], []).append(row["customer_id"])
    primary = {arm["variant"]: arm for arm in found["metrics"]["still_subscribed_30d"]}
    for variant, members in arms.items():
        stayed = sum(1 for c in members if c not in cancelled)
        assert primary[variant]["assigned"] == primary[variant]["measured"] == len(members)
        assert primary[variant]["successes"] == stayed
    control = arms["control"]
    level = found["confidence"]
    for comparison in found["comparisons"]:
        if comparison["metric"] != "still_subscribed_30d":
            continue
        members = arms[comparison["variant"]]
        expected = _newcombe_by_hand(
            sum(c not in cancelled for c in control), len(control), sum(c not in cancelled for c in members),
            len(members), level,
        )  # fmt: skip
        assert comparison["difference"]["low"] == pytest.approx(expected[0], abs=1e-9)
        assert comparison["difference"]["high"] == pytest.approx(expected[1], abs=1e-9)
    assert found["final"] is False and "interim" in found["note"]  # still running: never final
    # The uplift model's training data from the same log: features at the decision, arm, outcome.
    units = uplift.from_decisions(to_async_url(database_url), "retention-offers", min_rows=1)
    assert len(units.arm) == len(people) and set(units.arm) <= set(arms)
    assert units.stayed.sum() == len(people) - len(cancelled)
    assert units.X["contract"].notna().all() and (units.X["tenure_months"] > 0).all()


def _newcombe_by_hand(s1: int, n1: int, s2: int, n2: int, level: float) -> tuple[float, float]:
    """Newcombe's method 10 written out again from the paper, with the Wilson limits as roots of the
    quadratic |p - phat| = z sqrt(p (1 - p) / n)."""
    from scipy.stats import norm

    q = norm.ppf(1 - (1 - level) / 2)

    def limits(s: int, n: int) -> tuple[float, float]:
        p = s / n
        a, b, c = 1 + q * q / n, -(2 * p + q * q / n), p * p
        root = (b * b - 4 * a * c) ** 0.5
        return max(0.0, (-b - root) / (2 * a)), min(1.0, (-b + root) / (2 * a))

    (l1, u1), (l2, u2) = limits(s1, n1), limits(s2, n2)
    p1, p2 = s1 / n1, s2 / n2
    d = p2 - p1
    return d - ((p2 - l2) ** 2 + (u1 - p1) ** 2) ** 0.5, d + ((u2 - p2) ** 2 + (p1 - l1) ** 2) ** 0.5


def test_without_a_running_experiment_the_rules_decide_and_nobody_is_enrolled(client, widget, database_url):
    assert stats.wilson(0, 0).low == 0.0
    answer = ask_to_cancel(client, "demo@northwind.example")
    assert answer["offer"] is None  # no churn model here: no score, so the rule table makes no offer
    (row,) = decisions(database_url)
    assert (
        row["version"].endswith("offer rules")
        and rows(database_url, "SELECT id FROM experiment_assignments") == []
    )
