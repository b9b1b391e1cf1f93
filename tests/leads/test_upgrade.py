"""A plan change is upgrade interest when it asks for a higher plan: one lead per conversation, scored and
logged like any other but never handed to the sales team (the bot answers the plan question as before); a
downgrade or a billing switch makes no lead. The demo customer is on the plus plan."""

from __future__ import annotations

import json

import pytest

from backend.leads import upgrade
from tests.dbcheck import rows
from tests.leads.test_capture import BUYER, capture, new_chat, say


def as_json(value):
    return json.loads(value) if isinstance(value, str) else value


@pytest.mark.parametrize(
    ("text", "entity", "current", "expected"),
    [
        # An identified customer: the asked-for plan against the CRM's.
        ("upgrade me to pro please", "Pro plan", "plus", True),
        ("switch to the Plus plan", "Plus plan", "basic", True),
        ("switch to the Plus plan", "Plus plan", "pro", False),
        ("move me to the Plus plan", "Plus plan", "plus", False),  # the plan they already have
        ("I want to upgrade my plan", None, "basic", True),
        ("I want to upgrade my plan", None, "pro", False),  # nothing above the top plan
        ("downgrade to basic", "Basic plan", "pro", False),
        ("I want a cheaper plan", None, "basic", False),
        ("switch from monthly to yearly", None, "basic", False),
        ("change my subscription", None, "basic", False),
        # An anonymous visitor: only what the message says.
        ("switch to the Pro plan", "Pro plan", None, True),  # no one moves down to the top plan
        ("switch to the Plus plan", "Plus plan", None, False),  # from Basic or from Pro: unknown
        ("upgrade me to plus please", "Plus plan", None, True),
        ("can I go from Plus to Basic", "Basic plan", None, False),
        ("can I go from Plus to Pro", None, None, True),
        ("upgrade to pro from plus", None, None, True),
        ("i want more features, can i upgrade", None, None, True),
        ("how do I downgrade", None, None, False),
        ("switch plan", None, None, False),
    ],
)
def test_which_plan_changes_are_upgrades(text, entity, current, expected):
    assert upgrade.read(text, entity, current).upgrade is expected


@pytest.mark.parametrize("route_threshold", [0.0])  # a sales message at this threshold would be handed over
def test_an_upgrade_is_one_silent_lead_never_handed_over(client, widget, database_url):
    conversation = widget["conversation_id"]
    say(client, widget, "ok upgrade me to pro then")
    first = capture(client, conversation, intent="change_plan", plan="Pro plan")
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["created"] and answer["lead_id"] and not answer["routed"] and answer["message"] is None
    say(client, widget, "I want to upgrade to pro")
    again = capture(client, conversation, intent="change_plan", plan="Pro plan").json()
    assert (again["lead_id"], again["created"], again["routed"]) == (answer["lead_id"], False, False)

    [lead] = rows(database_url, "SELECT * FROM leads")
    assert (lead["source_intent"], lead["interest"], lead["routed_to"]) == ("change_plan", "upgrade", None)
    assert as_json(lead["features"])["plan"] == "plus"  # the plan they are on, as for any lead
    [decision] = rows(database_url, "SELECT * FROM decisions WHERE kind = 'lead'")
    assert decision["action"] == "list" and decision["threshold"] is None
    inputs = as_json(decision["inputs"])
    assert inputs["source_intent"] == "change_plan"
    assert inputs["plan_change"] | {"rule": None} == {
        "current": "plus", "requested": "pro", "upgrade": True, "rule": None
    }  # fmt: skip
    assert rows(database_url, "SELECT id FROM cases WHERE conversation_id = :c", c=conversation) == []


@pytest.mark.parametrize(
    ("text", "plan"),
    [
        ("downgrade to basic", "Basic plan"),
        ("switch to yearly payments", None),
        ("move me to plus", "Plus plan"),  # the demo customer's own plan
    ],
)
def test_a_downgrade_or_a_billing_switch_makes_no_lead(client, widget, database_url, text, plan):
    say(client, widget, text)
    answer = capture(client, widget["conversation_id"], intent="change_plan", plan=plan)
    assert answer.status_code == 200, answer.text
    nothing = {"lead_id": None, "created": False, "score": None, "routed": False, "message": None}
    assert answer.json() == nothing
    assert rows(database_url, "SELECT id FROM leads") == []
    assert rows(database_url, "SELECT id FROM decisions WHERE kind = 'lead'") == []


def test_an_anonymous_visitor_asking_for_the_top_plan_is_a_lead_and_for_plus_is_not(client, database_url):
    top, middle = new_chat(client), new_chat(client)
    say(client, top, "switch me to the pro plan")
    say(client, middle, "switch me to the plus plan")
    assert capture(client, top["conversation_id"], intent="change_plan", plan="Pro plan").json()["lead_id"]
    assert (
        capture(client, middle["conversation_id"], intent="change_plan", plan="Plus plan").json()["lead_id"]
        is None
    )
    [lead] = rows(database_url, "SELECT conversation_id, features FROM leads")
    assert lead["conversation_id"] == top["conversation_id"]
    assert as_json(lead["features"])["plan"] == "anonymous"


@pytest.mark.parametrize("route_threshold", [0.0])
def test_a_sales_message_after_an_upgrade_rescores_the_lead_and_may_route_it(client, widget, database_url):
    conversation = widget["conversation_id"]
    say(client, widget, "upgrade me to pro")
    noted = capture(client, conversation, intent="change_plan", plan="Pro plan").json()
    say(client, widget, BUYER)
    sales = capture(client, conversation).json()
    assert sales["lead_id"] == noted["lead_id"] and sales["routed"] and not sales["created"]
    [lead] = rows(database_url, "SELECT * FROM leads")
    assert (lead["source_intent"], lead["interest"], lead["quantity"]) == ("sales_inquiry", "team_plan", 200)
    assert lead["routed_to"] == "sales"
    decisions = rows(database_url, "SELECT id, action FROM decisions WHERE kind = 'lead' ORDER BY id")
    assert [d["action"] for d in decisions] == ["list", "route:sales"]
    assert lead["decision_id"] == decisions[-1]["id"]
    # Once routed, neither another sales message nor a plan change scores it again.
    say(client, widget, BUYER)
    assert not capture(client, conversation).json()["routed"]
    assert len(rows(database_url, "SELECT id FROM decisions WHERE kind = 'lead'")) == 2
