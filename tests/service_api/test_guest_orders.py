"""The order look-up for an anonymous visitor's conversation (backend/customers/guest.py): the order only with
the e-mail address it was placed with, nothing about it without one (not even whether it exists), a wrong
e-mail answered as a missing order, and no look-ups at all after GUEST_ORDER_WRONG_EMAILS wrong ones."""

import logging

import pytest
from fastapi.testclient import TestClient

from contract.service_api import ORDER_EMAIL_HEADER, ORDER_EMAIL_NEEDED, ORDER_LOOKUPS_REFUSED
from tests.app_fixtures import SERVICE_HEADERS, anonymous_widget
from tests.dbcheck import rows
from tests.privacy.test_privacy_api import leftovers

DEMO_ORDER, DEMO_EMAIL = "ORD-100001", "demo@northwind.example"  # the seeded demo shopper's first order
MISSING = "ORD-999999"
WRONG = "not.the.owner@example.org"


def lookup(client: TestClient, number: str, conversation_id: str, email: str | None = None):
    headers = {**SERVICE_HEADERS, **({ORDER_EMAIL_HEADER: email} if email is not None else {})}
    params = {"conversation_id": conversation_id}
    return client.get(f"/api/v1/service/orders/{number}", params=params, headers=headers)


def another_customers_order(client: TestClient) -> dict[str, str]:
    """An order of a customer other than the demo shopper: its number and its customer's e-mail."""
    [found] = rows(
        client.app.state.settings.database_url,
        "SELECT o.order_number, c.email FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE c.email != :e ORDER BY o.id LIMIT 1",
        e=DEMO_EMAIL,
    )
    return found


@pytest.fixture
def guest(client: TestClient) -> str:
    return anonymous_widget(client)["conversation_id"]


def test_without_the_email_nothing_is_said_not_even_whether_the_order_exists(client, guest):
    existing, missing = lookup(client, DEMO_ORDER, guest), lookup(client, MISSING, guest)
    assert existing.status_code == missing.status_code == 403
    assert existing.json() == missing.json() == {"detail": ORDER_EMAIL_NEEDED}
    assert lookup(client, DEMO_ORDER, guest, email="  ").status_code == 403  # a blank header is none
    assert lookup(client, "banana", guest).status_code == 422  # not an order number: says nothing either


def test_the_email_on_the_order_shows_it_in_any_case_and_with_spaces_around(client, guest):
    found = lookup(client, "ord100001", guest, email=f"  {DEMO_EMAIL.upper()} ")
    assert found.status_code == 200, found.text
    order = found.json()
    assert order["order_id"] == DEMO_ORDER and order["tracking_number"] and order["items"]
    # Shown once, the same order needs no e-mail again in this conversation; another order does.
    assert lookup(client, DEMO_ORDER, guest).json() == order
    assert lookup(client, another_customers_order(client)["order_number"], guest).status_code == 403
    # ... and so does the same order in another visitor's conversation.
    assert lookup(client, DEMO_ORDER, anonymous_widget(client)["conversation_id"]).status_code == 403


def test_a_wrong_email_is_answered_as_a_missing_order(client, guest):
    wrong = lookup(client, DEMO_ORDER, guest, email=WRONG)
    missing = lookup(client, MISSING, guest, email=DEMO_EMAIL)
    assert wrong.status_code == missing.status_code == 404
    assert wrong.json() == {"detail": f"no order {DEMO_ORDER}"}
    assert missing.json() == {"detail": f"no order {MISSING}"}
    # The same body a signed-in shopper gets for a number that is not theirs, or nobody's. Two misses are
    # still under the limit: the right e-mail shows the order.
    assert lookup(client, DEMO_ORDER, guest, email=DEMO_EMAIL).status_code == 200


def test_after_too_many_wrong_emails_the_conversation_looks_nothing_up(client, guest):
    limit = client.app.state.settings.guest_order_wrong_emails
    assert limit == 3  # the default the README states
    numbers = [f"ORD-1000{n:02d}" for n in range(1, limit + 1)]  # guessing along the sequence
    answers = [lookup(client, number, guest, email=WRONG).status_code for number in numbers]
    # The last wrong e-mail is refused at once, so the bot can offer a person instead of asking again.
    assert answers == [404] * (limit - 1) + [429]
    for email in (DEMO_EMAIL, None, WRONG):  # the right e-mail, none, a wrong one: all refused now
        refused = lookup(client, DEMO_ORDER, guest, email=email)
        assert refused.status_code == 429 and refused.json() == {"detail": ORDER_LOOKUPS_REFUSED}
    assert lookup(client, MISSING, guest).status_code == 429  # existence shows no more than before
    # Another visitor's conversation is not affected.
    other = anonymous_widget(client)["conversation_id"]
    assert lookup(client, DEMO_ORDER, other, email=DEMO_EMAIL).status_code == 200


def test_the_limit_is_a_setting(client_with):
    strict = client_with(guest_order_wrong_emails=1)
    conversation = anonymous_widget(strict)["conversation_id"]
    assert lookup(strict, MISSING, conversation, email=WRONG).status_code == 429
    assert lookup(strict, DEMO_ORDER, conversation, email=DEMO_EMAIL).status_code == 429


def test_a_signed_in_shopper_is_unchanged_and_an_email_gives_them_nothing(client, widget, database_url):
    shopper = widget["conversation_id"]
    assert lookup(client, DEMO_ORDER, shopper).status_code == 200  # their own: no e-mail asked
    theirs = another_customers_order(client)
    # Another customer's order stays a 404, with or without that customer's e-mail, and never counts.
    for _ in range(4):
        assert lookup(client, theirs["order_number"], shopper, email=theirs["email"]).status_code == 404
    assert lookup(client, DEMO_ORDER, shopper, email=WRONG).status_code == 200
    assert rows(database_url, "SELECT id FROM guest_order_checks") == []


def test_the_email_is_kept_nowhere_and_logged_nowhere(client, guest, database_url, caplog):
    caplog.set_level(logging.DEBUG)
    for email in (WRONG, DEMO_EMAIL):
        lookup(client, DEMO_ORDER, guest, email=email)
    checks = rows(database_url, "SELECT * FROM guest_order_checks WHERE conversation_id = :c", c=guest)
    assert [(c["order_number"], bool(c["matched"])) for c in checks] == [
        (DEMO_ORDER, False),
        (DEMO_ORDER, True),
    ]
    assert leftovers(database_url, [WRONG]) == []
    assert WRONG not in caplog.text and DEMO_EMAIL not in caplog.text
