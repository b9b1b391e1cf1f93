"""Order ids as customers type them, normalised the one way the service API looks them up."""

import pytest

from backend.customers.service import normalize_order_id


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
