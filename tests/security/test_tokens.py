"""Widget tokens and customer hashes: what they bind, and how a forged or expired one is refused."""

import pytest

from backend.auth.tokens import (
    InvalidToken,
    conversation_of_widget_token,
    customer_hash,
    issue_widget_token,
    verify_customer_hash,
)

SECRET = "unit-test-secret-key-of-32-bytes-or-more"


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
