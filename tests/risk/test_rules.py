"""Guardrails and the retention-offer table."""

from decimal import Decimal
from types import SimpleNamespace

from backend.risk import rules
from backend.risk.service import retention_offer


def test_an_explicit_request_for_a_human_always_triggers():
    fired = rules.triggered({"intent": "request_human", "fallback_count": 0.0})
    assert [r.name for r in fired] == ["explicit_request"]
    assert (
        rules.triggered({"intent": "order_status", "fallback_count": 3.0})[0].name == "bot_not_understanding"
    )
    assert rules.triggered({"intent": "complaint", "fallback_count": 1.0}) == []


def customer(contract: str, value: str, plan: str = "plus") -> SimpleNamespace:
    return SimpleNamespace(contract=contract, lifetime_value=Decimal(value), plan=plan)


def test_retention_offers_follow_the_table_first_match_wins():
    assert "25% off" in retention_offer(customer("month-to-month", "800"), 0.9, threshold=0.5)
    assert "one-year contract" in retention_offer(customer("month-to-month", "100"), 0.9, threshold=0.5)
    assert "2 months free" in retention_offer(customer("two-year", "1500"), 0.9, threshold=0.5)
    assert "Plus plan" in retention_offer(customer("one-year", "100", plan="basic"), 0.9, threshold=0.5)
    assert "pause" in retention_offer(customer("one-year", "100", plan="pro"), 0.9, threshold=0.5)


def test_no_offer_below_the_high_risk_threshold():
    assert retention_offer(customer("month-to-month", "800"), 0.3, threshold=0.5) is None
