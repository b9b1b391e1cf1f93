"""Versions, enabling only after a dry-run, rollback, audit; the dry-run equals what the enabled rule does
on the same replayed events; bad rules are refused with a clear 422."""

from datetime import timedelta

from backend.automation import events as sources
from backend.automation import service
from backend.core.database import utcnow
from tests.automation.helpers import admin, create, dry_run, enable, rule, say, tags
from tests.dbcheck import rows

ON_MESSAGE = {"type": "message_received"}


def tag(name: str) -> dict:
    return rule(ON_MESSAGE, [{"type": "add_tag", "tag": name}])


def new_conversation(client) -> dict[str, str]:
    body = client.post("/api/v1/widget/sessions", json={}).json()
    return {**body, "auth": f"Bearer {body['token']}"}


def test_versions_enable_after_dry_run_and_rollback(client, database_url):
    headers = admin(client)
    rule_id = create(client, headers, tag("one"), "versioned")
    refused = client.post(f"/api/automation/rules/{rule_id}/enable", headers=headers)
    assert refused.status_code == 409 and "dry-run" in refused.text
    dry_run(client, headers, rule_id)
    enable(client, headers, rule_id)
    first = new_conversation(client)
    say(client, first, "hi")
    assert tags(client, headers, first["conversation_id"]) == ["one"]

    changed = client.put(f"/api/automation/rules/{rule_id}", json={"definition": tag("two")}, headers=headers)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["versions"] == 2 and body["active_version"]["number"] == 1  # v1 runs until v2 is enabled
    assert client.post(f"/api/automation/rules/{rule_id}/enable", headers=headers).status_code == 409
    dry_run(client, headers, rule_id)
    assert enable(client, headers, rule_id)["active_version"]["number"] == 2
    second = new_conversation(client)
    say(client, second, "hi")
    assert tags(client, headers, second["conversation_id"]) == ["two"]

    rolled = client.post(f"/api/automation/rules/{rule_id}/rollback", headers=headers)
    assert rolled.status_code == 200 and rolled.json()["active_version"]["number"] == 1
    third = new_conversation(client)
    say(client, third, "hi")
    assert tags(client, headers, third["conversation_id"]) == ["one"]
    nothing_before = client.post(f"/api/automation/rules/{rule_id}/rollback", headers=headers)
    assert nothing_before.status_code == 409

    versions = client.get(f"/api/automation/rules/{rule_id}/versions", headers=headers).json()
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[1]["definition"]["actions"] == [{"type": "add_tag", "tag": "one"}]  # never edited
    audit = rows(
        database_url, "SELECT action FROM audit_events WHERE entity_type = 'automation_rule' ORDER BY id"
    )
    assert [a["action"] for a in audit] == [
        "automation.rule.create", "automation.rule.dry_run", "automation.rule.enable",
        "automation.rule.version", "automation.rule.dry_run", "automation.rule.enable",
        "automation.rule.rollback",
    ]  # fmt: skip


def test_disabled_rules_do_nothing(client, widget):
    headers = admin(client)
    rule_id = create(client, headers, tag("x"))
    dry_run(client, headers, rule_id)
    enable(client, headers, rule_id)
    assert client.post(f"/api/automation/rules/{rule_id}/disable", headers=headers).json()["enabled"] is False
    say(client, widget, "hi")
    assert tags(client, headers, widget["conversation_id"]) == []


def test_bad_rules_are_refused_with_a_clear_422(client):
    headers = admin(client)
    bad = [
        {"trigger": {"type": "sometimes"}, "actions": [{"type": "close"}]},
        {"trigger": ON_MESSAGE, "actions": []},
        {"trigger": ON_MESSAGE, "actions": [{"type": "launch_rocket"}]},
        {"trigger": ON_MESSAGE, "actions": [{"type": "webhook", "url": "ftp://x", "secret": "s" * 20}]},
        {"trigger": ON_MESSAGE, "actions": [{"type": "webhook", "url": "http://x.test", "secret": "short"}]},
        {"trigger": ON_MESSAGE, "actions": [{"type": "close"}], "conditions": {"field": "intent", "op": "gt",
                                                                              "value": 1}},
        {"trigger": ON_MESSAGE, "actions": [{"type": "close"}], "active": "business_hours",
         "calendar": {"timezone": "Nowhere/Atlantis"}},
        {"trigger": {"type": "case_waiting"}, "actions": [{"type": "close"}]},
    ]  # fmt: skip
    for definition in bad:
        response = client.post("/api/automation/rules", json={"name": "bad", "definition": definition},
                               headers=headers)  # fmt: skip
        assert response.status_code == 422, (definition, response.text)
    create(client, headers, tag("ok"), "taken")
    again = client.post(
        "/api/automation/rules", json={"name": "taken", "definition": tag("ok")}, headers=headers
    )
    assert again.status_code == 409
    assert client.post("/api/automation/rules/999999/dry-run", headers=headers).status_code == 404


def test_the_dry_run_equals_what_the_enabled_rule_does_on_the_same_events(client, widget, database_url):
    headers = admin(client)
    # Traffic first, while no rule runs: two conversations of the same customer, one anonymous.
    same_customer = {"customer_email": "demo@northwind.example", "customer_hash": widget_hash(client)}
    other = client.post("/api/v1/widget/sessions", json=same_customer).json()
    other["auth"] = f"Bearer {other['token']}"
    anonymous = new_conversation(client)
    for session, text in [(widget, "where is my order"), (other, "order?"), (widget, "still late"),
                          (anonymous, "hello"), (other, "any news"), (anonymous, "hi")]:  # fmt: skip
        say(client, session, text)
    offer = {"type": "send_message", "text": "Sorry about the wait: here is free shipping."}
    definition = rule(ON_MESSAGE, [offer, {"type": "add_tag", "tag": "late"}],
                      conditions={"field": "intent", "op": "eq", "value": "order_status"})  # fmt: skip
    rule_id = create(client, headers, definition, "late orders")
    preview = dry_run(client, headers, rule_id, days=1)
    planned = [(p["event"]["key"], p["action_index"], p["outcome"]) for p in preview["planned"]]
    assert preview["events"] == 6 and preview["matched_events"] == 6
    # The customer gets two offers (the contact cap), the anonymous visitor two; every message is tagged.
    assert sum(p["outcome"] == "blocked" for p in preview["planned"]) == 2
    enable(client, headers, rule_id)

    live = client.portal.call(replay_live, client.app)
    assert [(p.event.key, p.action_index, p.outcome) for p in live] == planned
    query = "SELECT COUNT(*) AS n FROM messages WHERE sender = 'system' AND text LIKE 'Sorry about the wait%'"
    assert rows(database_url, query)[0]["n"] == sum(p[2] == "run" and p[1] == 0 for p in planned) == 4
    versions = client.get(f"/api/automation/rules/{rule_id}/versions", headers=headers).json()
    assert versions[0]["dry_run_summary"]["blocked"] == 2


def widget_hash(client) -> str:
    from backend.auth.tokens import customer_hash

    return customer_hash("demo@northwind.example", client.app.state.settings.identity_secret)


async def replay_live(app) -> list:
    """The live engine handling the events the dry-run replayed (the same window and rules)."""
    engine = app.state.automation
    async with app.state.sessions() as session:
        rules = await service.live_rules(session)
        now = utcnow()
        found = await sources.replay(session, now - timedelta(days=1), now, rules)
    handled = []
    for event in found:
        handled += await engine.handle(event)
    return handled
