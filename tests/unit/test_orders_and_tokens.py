import pytest

from backend.auth.tokens import (
    InvalidToken,
    conversation_of_widget_token,
    customer_hash,
    issue_widget_token,
    verify_customer_hash,
)
from backend.customers.service import normalize_order_id

SECRET = "unit-test-secret-key-of-32-bytes-or-more"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ORD-100234", "ORD-100234"),
        ("ord100234", "ORD-100234"),
        (" 100234 ", "ORD-100234"),
        ("Ord-100234", "ORD-100234"),
    ],
)
def test_order_ids_are_normalized(raw, expected):
    assert normalize_order_id(raw) == expected


@pytest.mark.parametrize("raw", ["", "ORD-12345", "ORD-1234567", "ORDER-100234", "100234x", "abc"])
def test_malformed_order_ids_are_rejected(raw):
    assert normalize_order_id(raw) is None


def test_widget_token_names_its_conversation():
    token = issue_widget_token("abc123", SECRET, ttl_s=60)
    assert conversation_of_widget_token(token, SECRET) == "abc123"


def test_widget_token_is_refused_when_forged_or_expired():
    token = issue_widget_token("abc123", SECRET, ttl_s=60)
    with pytest.raises(InvalidToken):
        conversation_of_widget_token(token, SECRET + "x")
    with pytest.raises(InvalidToken):
        conversation_of_widget_token(issue_widget_token("abc123", SECRET, ttl_s=-1), SECRET)
    with pytest.raises(InvalidToken):
        conversation_of_widget_token(token[:-2], SECRET)


@pytest.mark.parametrize("claimed", ["\u0080", "é" * 64, "", "0" * 64])
def test_a_forged_customer_hash_is_refused_not_an_error(claimed):
    # Found by schemathesis: a non-ASCII hash made hmac.compare_digest raise TypeError (a 500).
    assert verify_customer_hash("0@0.com", claimed, "secret") is False


def test_the_right_customer_hash_verifies():
    assert verify_customer_hash("a@b.example", customer_hash("a@b.example", "secret"), "secret") is True
