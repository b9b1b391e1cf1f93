"""What a sales message says (interest, quantity, e-mail domain), the rules' points, the reasons' words."""

from __future__ import annotations

import math

import pytest

from backend.leads import rules, scoring, signals
from backend.leads.features import CustomerFacts, lead_features


@pytest.mark.parametrize(
    ("text", "interest", "quantity"),
    [
        ("We need a team plan for 25 seats", "team_plan", 25),
        ("Do you do wholesale? About 1,200 units a month", "bulk_order", 1200),
        ("Can our company get a business account with VAT invoices?", "business_account", None),
        ("I'd like to upgrade to the pro plan", "upgrade", None),
        ("How much would it cost?", "quote", None),
        ("Licences for a team of 40", "team_plan", 40),
        ("My order ORD-100234 for 3 items", "quote", 3),
    ],
)
def test_interest_and_quantity(text: str, interest: str, quantity: int | None) -> None:
    said = signals.read(text)
    assert (said.interest, said.quantity) == (interest, quantity)


def test_e_mail_domains() -> None:
    assert signals.read("reach me at Jane.Doe@Acme-Logistics.com").email_domain == "acme-logistics.com"
    assert signals.email_kind("acme-logistics.com") == "business"
    assert signals.email_kind("gmail.com") == "free"
    assert signals.email_kind("example.com") == signals.email_kind(None) == "unknown"
    assert signals.domain_of("ava.patel.1@example.com") == "example.com"


def test_a_domain_in_the_message_beats_the_accounts() -> None:
    facts = CustomerFacts(12.0, "basic", 1, 40.0, 0, "gmail.com", None)
    assert lead_features(facts, signals.read("quote please"))["email_kind"] == "free"
    assert lead_features(facts, signals.read("quote for bob@kestrel-labs.com"))["email_kind"] == "business"
    anonymous = lead_features(None, signals.read("We need 10 seats"))
    assert anonymous["plan"] == "anonymous" and anonymous["tenure_months"] is None
    assert anonymous["quantity_log10"] == pytest.approx(1.0)


def test_rules_points() -> None:
    strong = {
        "email_kind": "business", "quantity_log10": math.log10(50), "plan": "pro", "interest": "team_plan",
        "orders_365d": 4,
    }  # fmt: skip
    score, why = rules.score(strong)
    assert score == 1.0 and why[0] == "asks about 50 units or seats (+35)"
    assert (
        rules.score({"email_kind": "free", "quantity_log10": None, "plan": "basic", "interest": "quote"})[0]
        == 0
    )
    assert rules.score({"quantity_log10": math.log10(9)})[0] == 0.10  # 2-9 units
    assert rules.score({"quantity_log10": math.log10(10)})[0] == 0.25


def test_reason_words() -> None:
    assert scoring.phrase("quantity_log10", 2.0) == "asks about 100 units or seats"
    assert scoring.phrase("quantity_log10", None) == "no quantity named"
    assert scoring.phrase("email_kind", "business") == "company e-mail domain"
    assert scoring.phrase("plan", "anonymous") == "anonymous visitor"
    assert scoring.phrase("orders_365d", 1.0) == "1 order in the last year"
