"""Inbox search: messages containing the words, only in cases the staff member may see, LIKE wildcards taken
literally."""

from tests.app_fixtures import staff_headers
from tests.assist.seeding import conversation, online


def test_search_finds_the_words_in_visible_cases_only(database_url, client):
    alex = online(database_url, "alex@northwind.example")
    mine = conversation(database_url, None, ["my parcel ORD-100042 never came"], ["Sorry!"], alex)
    conversation(database_url, None, ["parcel ORD-100042 again"], [], None, status="queued", days_ago=1)
    conversation(database_url, None, ["100% unhappy"], [], alex, days_ago=2)
    found = client.get("/api/assist/search", params={"q": "ord-100042"}, headers=staff_headers(client)).json()
    assert [h["case_id"] for h in found] == [
        mine["case_id"]
    ]  # the queued case is nobody's: not Alex's to see
    assert "ORD-100042" in found[0]["snippet"] and found[0]["sender"] == "customer"
    everyone = client.get(
        "/api/assist/search",
        params={"q": "ORD-100042"},
        headers=staff_headers(client, "jordan@northwind.example"),
    ).json()
    assert len(everyone) == 2
    literal = client.get("/api/assist/search", params={"q": "0%"}, headers=staff_headers(client)).json()
    assert [h["snippet"] for h in literal] == ["100% unhappy"]
    assert (
        client.get("/api/assist/search", params={"q": " "}, headers=staff_headers(client)).status_code == 422
    )
