"""Marketing actions and consent: a retention offer, or a message marked marketing, reaches only a customer
who gave marketing consent and accepts chat; a blocked one is a logged decision the dry-run shows too, and
not an exception (a supervisor's retry must not override the customer's choice). The retention_offer
action goes through the experiment's path: randomised with a control arm, its own contact cap."""

import json

from backend.automation.evaluator import CONSENT, AutomationEvent, CompiledRule, evaluate
from backend.automation.schemas import RuleDefinition
from backend.core.database import utcnow
from backend.experiments.offers import OFFERS
from tests.app_fixtures import staff_headers
from tests.automation.helpers import admin, decisions, dry_run, exceptions, live, rule, say, supervisor
from tests.dbcheck import rows
from tests.experiments.helpers import RETENTION, start_experiment

SALE = "Spring sale: 20% off every plan this week."
ON_MESSAGE = {"type": "message_received"}
MARKETING = {"type": "send_message", "text": SALE, "marketing": True}


def prefer(client, database_url, consent: bool, channels: list[str]) -> int:
    """The demo customer's consent and channels, set as staff do (audited, through the API)."""
    customer = rows(database_url, "SELECT id FROM customers WHERE email = 'demo@northwind.example'")[0]["id"]
    body = {"marketing_consent": consent, "contact_channels": channels}
    response = client.put(
        f"/api/v1/customers/{customer}/preferences", json=body, headers=staff_headers(client)
    )
    assert response.status_code == 200, response.text
    return int(customer)


def sent(database_url: str, conversation_id: str) -> list[str]:
    query = "SELECT text FROM messages WHERE conversation_id = :c AND sender = 'system' ORDER BY id"
    return [row["text"] for row in rows(database_url, query, c=conversation_id)]


def test_the_evaluator_blocks_marketing_without_consent_or_chat():
    definition = RuleDefinition.model_validate(
        rule(ON_MESSAGE, [MARKETING, {"type": "send_message", "text": "Your order shipped."}])
    )
    event = AutomationEvent("message_received", utcnow(), "message:1", "c1", customer_id=1, message_id=1)
    compiled = [CompiledRule(1, 1, definition)]
    for context, reason in [
        ({"marketing_consent": False, "contact_channels": ["chat"]}, "no marketing consent"),
        ({"marketing_consent": True, "contact_channels": ["email"]}, "does not accept marketing in chat"),
        ({}, "no marketing consent"),  # an anonymous visitor
    ]:
        marketing, service = evaluate(compiled, event, context)
        assert (
            marketing.outcome == "blocked"
            and marketing.reason.startswith(CONSENT)
            and reason in marketing.reason
        )
        assert not marketing.queued
        assert service.outcome == "run"  # a service message needs no marketing consent
    allowed = evaluate(compiled, event, {"marketing_consent": True, "contact_channels": ["chat", "email"]})
    assert [p.outcome for p in allowed] == ["run", "run"]


def test_a_marketing_message_waits_for_consent_and_chat(client, widget, database_url):
    headers = admin(client)
    prefer(client, database_url, consent=False, channels=["chat"])
    rule_id = live(client, headers, rule(ON_MESSAGE, [MARKETING, {"type": "add_tag", "tag": "seen"}]), "sale")
    conversation = widget["conversation_id"]
    say(client, widget, "hello")
    assert SALE not in sent(database_url, conversation)
    logged = decisions(client, headers, conversation)
    blocked = [d for d in logged if d["action"] == "blocked:send_message"]
    assert len(blocked) == 1 and blocked[0]["reasons"] == [f"{CONSENT}no marketing consent"]
    assert blocked[0]["inputs"]["context"]["marketing_consent"] is False  # the evidence
    assert any(d["action"] == "add_tag" for d in logged)  # the rule's other action ran
    assert [e for e in exceptions(client) if e["conversation_id"] == conversation] == []
    # The dry-run shows the same block.
    replayed = [
        p for p in dry_run(client, headers, rule_id)["planned"] if p["action"]["type"] == "send_message"
    ]
    assert replayed and all(p["outcome"] == "blocked" and p["reason"].startswith(CONSENT) for p in replayed)

    prefer(client, database_url, consent=True, channels=["email"])  # consent, but not in chat
    say(client, widget, "hello again")
    reasons = [
        d["reasons"] for d in decisions(client, headers, conversation) if d["action"].startswith("blocked")
    ]
    assert [f"{CONSENT}the customer does not accept marketing in chat"] in reasons
    assert SALE not in sent(database_url, conversation)

    prefer(client, database_url, consent=True, channels=["chat"])
    say(client, widget, "and again")
    assert sent(database_url, conversation).count(SALE) == 1


def test_a_retention_offer_goes_through_the_experiment_and_its_cap(client, widget, database_url):
    experiment = start_experiment(client, RETENTION)
    assert experiment["status"] == "running"
    customer = prefer(client, database_url, consent=True, channels=["chat"])
    headers = admin(client)
    live(client, headers, rule(ON_MESSAGE, [{"type": "retention_offer"}]), "keep them")
    conversation = widget["conversation_id"]
    say(client, widget, "I want to cancel")
    offers = rows(database_url, "SELECT * FROM decisions WHERE kind = 'retention_offer' ORDER BY id")
    assert len(offers) == 1 and offers[0]["customer_id"] == customer
    inputs = offers[0]["inputs"] if isinstance(offers[0]["inputs"], dict) else json.loads(offers[0]["inputs"])
    assert (inputs["trigger"], inputs["cancel_intent"]) == (
        "automation_rule",
        False,
    )  # the rule, not a request
    assigned = rows(
        database_url, "SELECT variant FROM experiment_assignments WHERE customer_id = :c", c=customer
    )
    variant = assigned[0]["variant"]
    texts = sent(database_url, conversation)
    if variant == "control":
        assert offers[0]["action"] == "no_offer" and not any(o.text in texts for o in OFFERS.values())
    else:
        assert offers[0]["action"] == f"offer:{variant}" and texts.count(OFFERS[variant].text) == 1
    assert [d["action"] for d in decisions(client, headers, conversation)] == ["retention_offer"]
    say(client, widget, "really, cancel it")  # the offer path's own cap: one offer in 30 days
    offered = rows(database_url, "SELECT action FROM decisions WHERE kind = 'retention_offer'")
    assert sum(row["action"].startswith("offer:") for row in offered) <= 1

    prefer(client, database_url, consent=False, channels=["chat"])
    say(client, widget, "cancel now")
    # Blocked by automation's consent guardrail before the offer path is asked: no new offer decision.
    assert len(rows(database_url, "SELECT id FROM decisions WHERE kind = 'retention_offer'")) == len(offered)
    latest = decisions(client, headers, conversation)
    assert any(d["action"] == "blocked:retention_offer" for d in latest)


def test_bad_marketing_and_schedule_rules_are_422(client):
    headers = admin(client)
    bad = [
        rule({"type": "schedule", "minutes": 60, "target": "none"}, [{"type": "add_tag", "tag": "x"}]),
        rule({"type": "schedule", "minutes": 2}, [{"type": "add_tag", "tag": "x"}]),
        rule({"type": "schedule"}, [{"type": "add_tag", "tag": "x"}]),
        rule({"type": "message_received", "target": "none"}, [{"type": "add_tag", "tag": "x"}]),
        rule(ON_MESSAGE, [{"type": "retention_offer", "offer": "free_month"}]),
        rule(ON_MESSAGE, [MARKETING], conditions={"field": "marketing_consent", "op": "eq", "value": 1}),
    ]
    for definition in bad:
        response = client.post(
            "/api/automation/rules", json={"name": "bad", "definition": definition}, headers=headers
        )
        assert response.status_code == 422, (definition, response.text)


def test_a_retried_marketing_message_asks_for_consent_again(client, widget, database_url):
    """A marketing message over the contact cap is an exception; the customer withdraws consent before a
    supervisor retries it: the retry fails with the consent reason and nothing is sent."""
    headers = admin(client)
    prefer(client, database_url, consent=True, channels=["chat"])
    three = [{**MARKETING, "text": f"{SALE} ({n})"} for n in range(3)]  # the cap is two a day
    live(client, headers, rule(ON_MESSAGE, three), "three offers")
    conversation = widget["conversation_id"]
    say(client, widget, "hello")
    queued = [e for e in exceptions(client) if e["conversation_id"] == conversation]
    assert len(queued) == 1 and queued[0]["reason"].startswith("contact cap")
    prefer(client, database_url, consent=False, channels=["chat"])
    retried = client.post(f"/api/automation/exceptions/{queued[0]['id']}/retry", headers=supervisor(client))
    assert retried.status_code == 200, retried.text
    assert retried.json()["state"] == "open" and "no marketing consent" in retried.json()["reason"]
    assert f"{SALE} (2)" not in sent(database_url, conversation)
