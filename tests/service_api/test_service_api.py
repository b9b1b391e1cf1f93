"""The action server's API: order look-up and handoff."""

from tests.app_fixtures import SERVICE_HEADERS, anonymous_widget
from tests.dbcheck import rows


def test_order_lookup_accepts_the_forms_customers_type(client):
    for raw in ("ORD-100001", "ord100001", "100001"):
        response = client.get(f"/api/v1/service/orders/{raw}", headers=SERVICE_HEADERS)
        assert response.status_code == 200, raw
        order = response.json()
        assert order["order_id"] == "ORD-100001" and order["status"] == "shipped"
        assert order["carrier"] and order["tracking_number"] and order["items"]


def test_unknown_and_malformed_orders(client):
    missing = client.get("/api/v1/service/orders/ORD-999999", headers=SERVICE_HEADERS)
    assert missing.status_code == 404 and "ORD-999999" in missing.json()["detail"]
    malformed = client.get("/api/v1/service/orders/banana", headers=SERVICE_HEADERS)
    assert malformed.status_code == 422


def test_a_signed_in_shopper_sees_only_their_own_orders(client, widget, database_url):
    """Asked for a conversation, another signed-in customer's order is answered as no order at all; the
    shopper's own order as before. An anonymous visitor's conversation is asked for the order's e-mail
    first (tests/service_api/test_guest_orders.py)."""
    others = rows(
        database_url,
        "SELECT order_number FROM orders WHERE customer_id != "
        "(SELECT id FROM customers WHERE email = 'demo@northwind.example') ORDER BY id LIMIT 1",
    )
    theirs = others[0]["order_number"]

    def lookup(number: str, conversation_id: str) -> int:
        url = f"/api/v1/service/orders/{number}"
        response = client.get(url, params={"conversation_id": conversation_id}, headers=SERVICE_HEADERS)
        return response.status_code

    shopper = widget["conversation_id"]
    assert lookup("ORD-100001", shopper) == 200
    assert lookup(theirs, shopper) == 404
    assert client.get(f"/api/v1/service/orders/{theirs}", headers=SERVICE_HEADERS).status_code == 200
    assert lookup(theirs, anonymous_widget(client)["conversation_id"]) == 403
    assert lookup("ORD-100001", "no-such-conversation") == 404


def test_handoff_opens_one_case_and_hands_the_conversation_to_humans(client, widget, database_url):
    url = f"/api/v1/service/conversations/{widget['conversation_id']}/handoff"
    first = client.post(url, json={"reason": "asked for a human"}, headers=SERVICE_HEADERS)
    again = client.post(url, json={"reason": "asked again"}, headers=SERVICE_HEADERS)
    assert first.status_code == again.status_code == 200
    assert first.json()["case_id"] == again.json()["case_id"]
    cases = rows(database_url, "SELECT status, reason, sla_due_at FROM cases")
    assert len(cases) == 1 and cases[0]["status"] == "queued" and cases[0]["sla_due_at"] is not None
    owner = rows(database_url, "SELECT owner FROM conversations WHERE id = :c", c=widget["conversation_id"])
    assert owner == [{"owner": "human"}]
    audit = rows(database_url, "SELECT actor, action FROM audit_events")
    assert audit == [{"actor": "service:action-server", "action": "case.handoff"}]


def test_handoff_of_an_unknown_conversation_is_404(client):
    response = client.post(
        "/api/v1/service/conversations/nope/handoff", json={"reason": "x"}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 404


def test_health_reports_a_degraded_service_when_rasa_is_down(client, rasa):
    assert client.get("/health").json() == {"status": "ok", "database": "ok", "rasa": "ok"}
    rasa.down = True
    response = client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "degraded"


def test_a_signed_in_shoppers_latest_orders_newest_first(client, widget, database_url):
    url = f"/api/v1/service/conversations/{widget['conversation_id']}/orders"
    response = client.get(url, headers=SERVICE_HEADERS)
    assert response.status_code == 200
    orders = response.json()["orders"]
    expected = rows(
        database_url,
        "SELECT o.order_number FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE c.email = 'demo@northwind.example' ORDER BY o.placed_at DESC, o.id DESC LIMIT 3",
    )
    assert [o["order_id"] for o in orders] == [r["order_number"] for r in expected] and len(orders) >= 2
    assert all(set(o) == {"order_id", "status", "placed_at"} for o in orders)
    assert len(client.get(url, params={"limit": 1}, headers=SERVICE_HEADERS).json()["orders"]) == 1


def test_latest_orders_of_a_visitor_unknown_conversations_and_bad_limits(client):
    visitor = anonymous_widget(client)
    url = f"/api/v1/service/conversations/{visitor['conversation_id']}/orders"
    assert client.get(url, headers=SERVICE_HEADERS).json() == {"orders": []}
    missing = client.get("/api/v1/service/conversations/nope/orders", headers=SERVICE_HEADERS)
    assert missing.status_code == 404
    for limit in ("0", "11", "many"):
        assert client.get(url, params={"limit": limit}, headers=SERVICE_HEADERS).status_code == 422, limit
    assert client.get(url).status_code in (401, 403)  # the action server's token only
