"""Actions against a scripted backend at the HTTP boundary: every slot they set exists in bot/domain.yml with
an allowed value (so the rules that branch on it can match), and each backend outcome maps to one branch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from actions import backend_client
from actions import messages as messages_module
from actions.fallback import ActionTryKnowledge
from actions.handoff import handoff_reason
from actions.knowledge import ActionAnswerFromKnowledge
from actions.orders import ActionLookupOrder
from actions.retention import ActionRetentionOffer
from contract.service_api import Order

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "bot" / "domain.yml").read_text())
# The scripted backend answers with whole contract bodies (contract/service_api.py): a field it left out
# would make the client refuse the body, as it would refuse the real backend's.
HIT = {
    "slug": "plans-and-pricing",
    "title": "Subscription plans and pricing",
    "url": "/kb/plans-and-pricing",
    "heading_path": ["Plans"],
    "snippet": "Plus: $14.99, $149.",
    "score": 0.03,
    "dense_score": 0.7,
    "bm25_score": 9.1,
    "confidence": 0.8,
    "answerable": True,
}


def search(answerable: bool) -> dict[str, Any]:
    return {"query": "plus plan price", "threshold": 0.5, "answerable": answerable, "results": [HIT]}


def offer(text: str | None, churn_risk: float) -> dict[str, Any]:
    return {"offer": text, "churn_risk": churn_risk, "threshold": 0.6}


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[httpx.Request], httpx.Response]], None]:
    def use(handler: Callable[[httpx.Request], httpx.Response]) -> None:
        transport = httpx.MockTransport(handler)
        client = lambda: httpx.AsyncClient(base_url="http://backend", transport=transport)  # noqa: E731
        monkeypatch.setattr(backend_client, "_client", client)

    return use


def run(action: Any, text: str = "how much is the plus plan?") -> tuple[list[dict[str, Any]], list[Any]]:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    tracker = Tracker("conv-1", {}, {"text": text, "intent": {}}, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, events


def slot_values(events: list[Any]) -> dict[str, Any]:
    values = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    for name, value in values.items():
        assert name in DOMAIN["slots"], f"{name} is not a slot in bot/domain.yml"
        allowed = DOMAIN["slots"][name].get("values")
        assert allowed is None or value in allowed, f"{name}={value!r} is not one of {allowed}"
    return values


@pytest.mark.parametrize(
    ("respond", "outcome"),
    [
        (lambda r: httpx.Response(200, json=search(answerable=True)), "answered"),
        (lambda r: httpx.Response(200, json=search(answerable=False)), "not_sure"),
        (lambda r: httpx.Response(500, text="boom"), "unavailable"),
        # A body the contract does not describe is a failure like a 500, not an answer read half-way.
        (lambda r: httpx.Response(200, json={"answerable": True, "results": [HIT]}), "unavailable"),
    ],
)
def test_a_knowledge_answer_sets_the_branch_the_rules_expect(backend, respond, outcome):
    backend(respond)
    messages, events = run(ActionAnswerFromKnowledge())
    assert slot_values(events) == {"kb_answer": outcome}
    if outcome == "answered":
        [answer] = messages
        assert "$14.99" in answer["text"]
        assert answer["custom"] == {"citations": [{"title": HIT["title"], "url": HIT["url"]}]}
    else:
        assert all(not m.get("custom") for m in messages) and messages


def test_a_snippet_that_opens_with_a_table_starts_on_its_own_line(backend):
    """The backend keeps a small table as Markdown rows; after the introduction's colon on the same line the
    widget would read the header row as prose."""
    table = "| Plan | Monthly |\n|---|---|\n| Plus | $14.99 |"
    hit = {**HIT, "snippet": table}
    backend(lambda r: httpx.Response(200, json={**search(answerable=True), "results": [hit]}))
    [answer], _ = run(ActionAnswerFromKnowledge())
    assert answer["text"] == f'From our help article "{HIT["title"]}":\n{table}'


@pytest.mark.parametrize(
    ("respond", "outcome"),
    [
        (lambda r: httpx.Response(200, json=search(answerable=True)), "answered"),
        (lambda r: httpx.Response(200, json=search(answerable=False)), "not_sure"),
        (lambda r: httpx.Response(500, text="boom"), "not_sure"),
        (lambda r: httpx.Response(200, json={"answerable": True, "results": [HIT]}), "not_sure"),
    ],
)
def test_an_unclear_message_is_answered_from_knowledge_only_when_confident_and_else_silently(
    backend, respond, outcome
):
    backend(respond)
    messages, events = run(ActionTryKnowledge(), "do you lot do gift wrapping")
    assert slot_values(events) == {"kb_answer": outcome}
    if outcome == "answered":
        [answer] = messages
        assert "$14.99" in answer["text"] and answer["custom"]["citations"][0]["url"] == HIT["url"]
    else:
        assert messages == []  # the two-stage fallback's question follows; no "not sure" before it


def run_after(action: Any, text: str, before: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Any]]:
    """`action` on the customer's `text`, the conversation so far being `before` (Rasa's stored events)."""
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    latest = {"text": text, "intent": {}}
    events = [*before, {"event": "user", "text": text}, {"event": "action", "name": "action_listen"}]
    tracker = Tracker("conv-1", {}, latest, events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    return dispatcher.messages, asyncio.run(action.run(dispatcher, tracker, DOMAIN))


def answered_before(bot_text: str) -> list[dict[str, Any]]:
    return [{"event": "user", "text": "how much is plus?"}, {"event": "bot", "text": bot_text}]


@pytest.mark.parametrize("action", [ActionAnswerFromKnowledge(), ActionTryKnowledge()])
def test_an_answer_the_bot_gave_in_its_last_reply_is_not_given_again(backend, action):
    backend(lambda r: httpx.Response(200, json=search(answerable=True)))
    [first], _ = run(action)
    messages, events = run_after(action, "that's not it, the plus plan", answered_before(first["text"]))
    assert slot_values(events) == {"kb_answer": "repeated"}  # the rules offer a person after it
    # it points at the answer above (which may hold the reply to a follow-up question) instead of repeating it
    assert [m["text"] for m in messages] == [
        f'The answer just above, from our help article "{HIT["title"]}", is all it says about that.'
    ]


def test_an_answer_given_earlier_than_the_last_reply_may_be_given_again(backend):
    backend(lambda r: httpx.Response(200, json=search(answerable=True)))
    [first], _ = run(ActionAnswerFromKnowledge())
    thanks = [{"event": "user", "text": "thanks"}, {"event": "bot", "text": "ok"}]
    earlier = [*answered_before(first["text"]), *thanks]
    messages, events = run_after(ActionAnswerFromKnowledge(), "and how much is plus again?", earlier)
    assert slot_values(events) == {"kb_answer": "answered"} and messages[0]["text"] == first["text"]


@pytest.mark.parametrize(
    ("respond", "outcome"),
    [
        (lambda r: httpx.Response(200, json=offer("a free month", churn_risk=0.8)), "offered"),
        (lambda r: httpx.Response(200, json=offer(None, churn_risk=0.1)), "none"),
        (lambda r: httpx.Response(503, text="down"), "none"),
        (lambda r: httpx.Response(200, json={"offer": "a free month"}), "none"),
    ],
)
def test_a_retention_offer_sets_the_branch_the_rules_expect(backend, respond, outcome):
    backend(respond)
    messages, events = run(ActionRetentionOffer(), "cancel my subscription")
    assert slot_values(events) == {"retention": outcome}
    assert bool(messages) == (outcome == "offered")
    if messages:
        assert "a free month" in messages[0]["text"] and messages[0]["buttons"]


# ---- the order look-up: one reply, worded from the order's status (issue 14) ------------------------------
TODAY = date.today()


def order(status: str, eta_days: int | None = 3, **fields: Any) -> dict[str, Any]:
    """The backend's order JSON; the estimated delivery date is `eta_days` from today (None: no date)."""
    shipped = status in ("shipped", "delayed", "delivered", "returned")
    return {
        "order_id": "ORD-100234",
        "status": status,
        "carrier": "UPS" if shipped else None,
        "tracking_number": "1Z999AA10123456784" if shipped else None,
        "estimated_delivery": None if eta_days is None else (TODAY + timedelta(days=eta_days)).isoformat(),
        "placed_at": (datetime.combine(TODAY, datetime.min.time()) - timedelta(days=6)).isoformat(),
        "total": "89.90",
        "currency": "USD",
        "items": [{"product": "Headlamp 400", "quantity": 2}],
        **fields,
    }


def friendly(days: int) -> str:
    day = TODAY + timedelta(days=days)
    return f"{day:%A}, {day:%B} {day.day}"


def look_up(
    backend: Callable[[Callable[[httpx.Request], httpx.Response]], None],
    respond: Callable[[httpx.Request], httpx.Response],
    text: str = "my order ORD-100234 hasn't arrived, this is really annoying",
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    backend(respond)
    latest = {"text": text, "intent": {"name": "shipping_delay"}}
    tracker = Tracker("conv-1", {"order_id": "ORD-100234"}, latest, [], False, None, {}, "order_status_form")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionLookupOrder().run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, slot_values(events)


# What each status may NOT be said to be: the words that would contradict it.
CONTRADICTIONS = {
    "delivered": ["on its way", "running late", "is delayed", "being packed", "cancelled", "sorry"],
    "shipped": ["has been delivered", "is delayed", "running late", "being packed", "cancelled", "sorry"],
    "delayed": ["has been delivered", "good news", "being packed", "cancelled"],
    "processing": ["has been delivered", "on its way", "is delayed", "running late", "cancelled", "sorry"],
    "cancelled": ["has been delivered", "on its way", "is delayed", "being packed", "should arrive"],
    "returned": ["on its way", "is delayed", "being packed", "should arrive", "cancelled"],
}


@pytest.mark.parametrize(
    ("status", "must_say"),
    [
        # delivered: by which carrier and when, with what to do if it is not there
        ("delivered", ["has been delivered by UPS", "delivery date: " + friendly(3), "1Z999AA10123456784",
                       "If you can't find it", "talk to a person"]),
        # delayed: an apology and the new estimate
        ("delayed", ["I'm sorry, order ORD-100234 is delayed", "UPS", "new estimated delivery date is "
                     + friendly(3), "reship it for free or refund you in full"]),
        ("shipped", ["Good news: order ORD-100234 is on its way with UPS", "1Z999AA10123456784",
                     "It should arrive by " + friendly(3)]),
        ("processing", ["being packed at our warehouse", "It should arrive by " + friendly(3),
                        "tracking number as soon as it ships"]),
        ("cancelled", ["Order ORD-100234 was cancelled, so it won't be shipped", "refund"]),
        ("returned", ["We've received the return of order ORD-100234", "refund"]),
    ],
)  # fmt: skip
def test_a_found_order_gets_one_reply_worded_from_its_status(backend, status, must_say):
    messages, slots = look_up(backend, lambda r: httpx.Response(200, json=order(status)))
    assert slots == {"order_lookup": "found", "last_order_id": "ORD-100234", "order_id": None}
    [reply] = messages  # nothing else is said in the look-up, so nothing can contradict it
    for words in must_say:
        assert words in reply["text"], (words, reply["text"])
    for words in CONTRADICTIONS[status]:
        assert words.lower() not in reply["text"].lower(), (words, reply["text"])
    assert "Headlamp 400 (2)" in reply["text"]
    # A "Talk to a person" button exactly when the advice is to ask for one.
    asks_for_a_person = '"talk to a person"' in reply["text"]
    assert reply["buttons"] == ([messages_module.TALK_TO_A_PERSON] if asks_for_a_person else [])
    assert asks_for_a_person == (status == "delivered")


@pytest.mark.parametrize("status", ["shipped", "delayed"])
def test_a_parcel_past_its_date_is_called_late_not_on_time(backend, status):
    # Two days late: at most 2 business days, so the customer hears it usually comes soon, not yet a reship.
    [reply], _ = look_up(backend, lambda r: httpx.Response(200, json=order(status, eta_days=-2)))
    text = reply["text"]
    assert f"it was due on {friendly(-2)}" in text
    assert "Most late parcels arrive within two business days" in text
    assert "If it ends up more than 5 business days late" in text
    assert "Good news" not in text and "should arrive" not in text and "new estimated" not in text
    assert not reply["buttons"]


def late_order(backend, status: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ten days late; the person-offer check is refused by the backend, so the bot asks (its fallback)."""

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/person-offer"):
            return httpx.Response(503, text="down")
        return httpx.Response(200, json=order(status, eta_days=-10))

    [reply], slots = look_up(backend, respond)
    return reply, slots


@pytest.mark.parametrize("status", ["shipped", "delayed"])
def test_a_parcel_more_than_5_business_days_late_is_offered_a_reship_or_refund_now(backend, status):
    reply, slots = late_order(backend, status)
    now = "As it's now more than 5 business days late, we'll reship it for free or refund you in full"
    assert now in reply["text"]
    # a question the rules wait on, with Yes and No, not prose followed by "anything else?"
    offer = "Would you like a person from our team to arrange the reship or the refund?"
    assert reply["text"].endswith(offer)
    assert reply["buttons"] == list(messages_module.YES_PLEASE_OR_NO_THANKS)
    assert slots["order_lookup"] == "person_offered"


def test_an_unshipped_order_past_its_date_is_late_and_can_be_refunded(backend):
    reply, slots = late_order(backend, "processing")
    assert f"running late: it was due by {friendly(-10)} and is still being packed" in reply["text"]
    assert "refund you in full" in reply["text"] and "reship" not in reply["text"]
    assert reply["text"].endswith("Would you like a person from our team to arrange the refund?")
    assert reply["buttons"] == list(messages_module.YES_PLEASE_OR_NO_THANKS)
    assert slots["order_lookup"] == "person_offered"


def test_a_delayed_order_without_a_new_date_says_so(backend):
    [reply], _ = look_up(backend, lambda r: httpx.Response(200, json=order("delayed", eta_days=None)))
    assert "I'm sorry, order ORD-100234 is delayed" in reply["text"]
    assert "I don't have a new delivery date for it yet" in reply["text"]


def test_a_parcel_due_today_is_due_today(backend):
    [reply], _ = look_up(backend, lambda r: httpx.Response(200, json=order("shipped", eta_days=0)))
    assert "It should arrive today." in reply["text"] and "late" not in reply["text"]


def test_a_delivered_order_without_carrier_or_date_states_only_what_is_known(backend):
    bare = order("delivered", eta_days=None, carrier=None, tracking_number=None, items=[])
    [reply], _ = look_up(backend, lambda r: httpx.Response(200, json=bare))
    assert reply["text"].startswith("Order ORD-100234 has been delivered. The tracking link")
    assert "None" not in reply["text"] and "Items" not in reply["text"]


def test_an_unknown_status_is_reported_as_it_is(backend):
    [reply], _ = look_up(backend, lambda r: httpx.Response(200, json=order("on_hold")))
    assert 'currently has the status "on_hold"' in reply["text"]


@pytest.mark.parametrize(
    ("respond", "outcome"),
    [
        (lambda r: httpx.Response(404, json={"detail": "no such order"}), "not_found"),
        (lambda r: httpx.Response(503, text="down"), "unavailable"),
        (lambda r: httpx.Response(200, text="not json"), "unavailable"),
        (lambda r: httpx.Response(200, json={"order_id": "ORD-100234", "status": "shipped"}), "unavailable"),
    ],
)
def test_an_order_not_found_or_unreachable_says_nothing_itself(backend, respond, outcome):
    # The rules answer these with utter_order_not_found / action_order_lookup_failed, as before.
    messages, slots = look_up(backend, respond)
    assert messages == []
    assert slots == {"order_lookup": outcome, "last_order_id": "ORD-100234", "order_id": None}


def test_business_days_skip_the_weekend():
    friday = date(2026, 11, 6)
    assert friday.weekday() == 4
    assert messages_module.business_days_between(friday, friday) == 0
    assert messages_module.business_days_between(friday, date(2026, 11, 8)) == 0  # Sunday: still 0
    assert messages_module.business_days_between(friday, date(2026, 11, 9)) == 1  # Monday
    assert messages_module.business_days_between(friday, date(2026, 11, 16)) == 6
    assert messages_module.business_days_between(friday, date(2026, 11, 1)) == 0  # not yet due


def test_late_on_a_weekend_is_late_but_not_yet_a_business_day_late():
    friday, sunday = date(2026, 11, 6), date(2026, 11, 8)
    late = Order.from_json(order("shipped", estimated_delivery=friday.isoformat()))
    reply = messages_module.order_reply(late, today=sunday)
    assert "is running late. It's on its way with UPS" in reply.text
    assert "it was due on Friday, November 6" in reply.text
    assert "Most late parcels arrive within two business days" in reply.text


# ---- the hand-off brief -------------------------------------------------------------------------------
def user(text: str, intent: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def brief(*events: dict[str, Any], slots: dict[str, Any] | None = None) -> str:
    from rasa_sdk import Tracker

    return handoff_reason(Tracker("conv-1", slots or {}, {}, list(events), False, None, {}, "action_listen"))


def test_a_typed_answer_sent_as_a_button_is_quoted_after_the_words_that_carried_the_topic():
    typed = {**user("/affirm", "affirm"), "metadata": {"customer_text": "yes please, reship them express"}}
    reason = brief(user("my order is three weeks late", "shipping_delay"), typed)
    assert reason.endswith(
        'Customer wrote: "my order is three weeks late". Then answered: "yes please, reship them express"'
    )
    assert "Then answered" not in brief(
        user("my order is three weeks late", "shipping_delay"), user("/affirm", "affirm")
    )


def test_a_security_concern_is_named_as_account_security():
    reason = brief(user("someone ordered things on my account, it wasn't me", "security_concern"))
    assert reason.startswith("Topic: account security (someone else in the account, or orders or charges")
    assert 'Customer wrote: "someone ordered things on my account, it wasn\'t me"' in reason


def test_answers_that_did_not_help_are_counted_and_the_topic_comes_from_before_them():
    reason = brief(
        user("the app keeps crashing", "technical_problem"),
        user("I did that, still crashing", "not_helpful"),
        user("no", "deny"),
        user("that didn't help either", "not_helpful"),
        user("/affirm", "affirm"),
    )
    assert reason.startswith(
        "Topic: technical problem. The bot's answers did not help (the customer said so twice)"
    )
    assert 'Customer wrote: "the app keeps crashing"' in reason


def test_an_answer_that_did_not_help_without_any_topic_quotes_the_customer():
    reason = brief(user("that's not what I asked", "not_helpful"), user("yes", "affirm"))
    assert "(the customer said so once)" in reason
    assert 'Customer wrote: "that\'s not what I asked"' in reason


def test_the_new_intents_are_in_the_domain_and_the_fallback_can_confirm_security():
    assert {"not_helpful", "security_concern"} <= set(DOMAIN["intents"])
    assert "security_concern" in messages_module.AFFIRMATION_TOPICS
    # "Did you mean: that didn't help?" confirms nothing useful: the fallback asks to rephrase instead.
    assert "not_helpful" not in messages_module.AFFIRMATION_TOPICS


@pytest.mark.parametrize(
    ("offer_body", "outcome"),
    [
        ({"handed_over": True, "case_id": 7, "message": "I'm connecting you with our team."}, "handed_over"),
        ({"handed_over": False, "case_id": None, "message": None}, "not_sure"),
        (None, "not_sure"),  # the person-offer check failed: the two-stage fallback asks, as before
    ],
)
def test_an_unclear_message_the_policy_takes_over_gets_the_hand_over_alone(backend, offer_body, outcome):
    calls = []

    def respond(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.endswith("/person-offer"):
            return httpx.Response(200, json=offer_body) if offer_body else httpx.Response(503, text="down")
        return httpx.Response(200, json=search(answerable=False))

    backend(respond)
    messages, events = run(ActionTryKnowledge(), "quiero hablar con una persona por favor")
    assert slot_values(events) == {"kb_answer": outcome}
    assert any(path.endswith("/conv-1/person-offer") for path in calls)
    if outcome == "handed_over":
        assert [m["text"] for m in messages] == [offer_body["message"]]
    else:
        assert messages == []  # the two-stage fallback's question follows, alone
