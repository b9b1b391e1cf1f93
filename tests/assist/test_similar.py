"""Similar past cases: this customer's resolved cases first, then other customers' cases about the same thing,
each with how it ended; an unrelated case stays out."""

from tests.app_fixtures import staff_headers
from tests.assist.seeding import conversation, customer_id, online


def test_similar_cases_of_this_customer_and_others_with_their_disposition(database_url, client):
    alex = online(database_url, "alex@northwind.example")
    demo = customer_id(database_url, "demo@northwind.example")
    other = customer_id(database_url, "demo@northwind.example") + 1
    own = conversation(
        database_url,
        demo,
        ["My invoice shows a double charge"],
        ["Refunded."],
        alex,
        disposition="refunded",
        days_ago=20,
    )
    alike = conversation(
        database_url,
        other,
        ["I was charged twice for the same order"],
        ["Refunded one."],
        alex,
        disposition="refunded",
        days_ago=5,
    )
    unrelated = conversation(
        database_url, other, ["Do you sell gift cards for birthdays?"], ["Yes."], alex, days_ago=4
    )
    now = conversation(
        database_url,
        demo,
        ["You charged my card twice for one order!"],
        [],
        alex,
        status="accepted",
        days_ago=0,
    )
    answer = client.get(f"/api/assist/cases/{now['case_id']}/similar", headers=staff_headers(client))
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert [c["case_id"] for c in found if c["same_customer"]] == [own["case_id"]]
    others = [c["case_id"] for c in found if not c["same_customer"]]
    assert others[0] == alike["case_id"] and unrelated["case_id"] not in others
    assert found[0]["disposition"] == "refunded" and "double charge" in found[0]["summary"]
    assert now["case_id"] not in [c["case_id"] for c in found]
