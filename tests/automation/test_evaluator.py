"""The evaluator on its own: conditions, triggers, calendars, loop protection, caps, and (hypothesis) that no
rule set makes one action fire twice for one event."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from backend.automation.evaluator import AutomationEvent, CompiledRule, Ledger, Limits, evaluate, holds
from backend.automation.ledger import MemoryLedger
from backend.automation.schemas import Calendar, RuleDefinition

MONDAY_NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def compiled(rule_id: int, definition: dict, version_id: int | None = None) -> CompiledRule:
    return CompiledRule(rule_id, version_id or rule_id * 10, RuleDefinition.model_validate(definition))


def message(at: datetime = MONDAY_NOON, key: str = "message:1", origin: int | None = None) -> AutomationEvent:
    return AutomationEvent("message_received", at, key, "c1", customer_id=7, origin_rule_id=origin)


def condition(tree: dict) -> RuleDefinition:
    return RuleDefinition.model_validate(
        {"trigger": {"type": "message_received"}, "conditions": tree, "actions": [{"type": "close"}]}
    )


CONTEXT = {
    "intent": "cancel",
    "sentiment_score": -0.7,
    "plan": "premium",
    "tags": ["vip"],
    "churn_score": None,
}


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"field": "intent", "op": "eq", "value": "cancel"}, True),
        ({"field": "intent", "op": "ne", "value": "cancel"}, False),
        ({"field": "sentiment_score", "op": "lt", "value": -0.5}, True),
        ({"field": "sentiment_score", "op": "ge", "value": -0.5}, False),
        ({"field": "plan", "op": "in", "value": ["plus", "premium"]}, True),
        ({"field": "plan", "op": "not_in", "value": ["plus", "premium"]}, False),
        ({"field": "tags", "op": "contains", "value": "vip"}, True),
        ({"field": "churn_score", "op": "gt", "value": 0.1}, False),  # unknown: no comparison holds
        ({"field": "churn_score", "op": "ne", "value": 0.1}, False),
        ({"field": "churn_score", "op": "is_not_set"}, True),
        ({"not": {"field": "tags", "op": "contains", "value": "vip"}}, False),
        (
            {
                "any": [
                    {"field": "intent", "op": "eq", "value": "x"},
                    {"field": "plan", "op": "eq", "value": "premium"},
                ]
            },
            True,
        ),
        (
            {
                "all": [
                    {"field": "intent", "op": "eq", "value": "x"},
                    {"field": "plan", "op": "eq", "value": "premium"},
                ]
            },
            False,
        ),
    ],
)
def test_conditions(tree: dict, expected: bool) -> None:
    assert holds(condition(tree).conditions, CONTEXT) is expected


@pytest.mark.parametrize(
    "tree",
    [
        {"field": "intent", "op": "lt", "value": 3},  # ordering on a text field
        {"field": "sentiment_score", "op": "eq", "value": "bad"},  # a number field against text
        {"field": "plan", "op": "in", "value": []},
        {"field": "tags", "op": "eq", "value": "vip"},
        {"field": "nope", "op": "eq", "value": 1},
        {"field": "intent", "op": "is_set", "value": "x"},
        {"all": []},
    ],
)
def test_conditions_that_could_never_be_meant_are_refused(tree: dict) -> None:
    with pytest.raises(ValidationError):
        condition(tree)


def test_a_deep_condition_tree_is_refused_with_one_clear_error() -> None:
    tree: dict = {"field": "intent", "op": "eq", "value": "x"}
    for _ in range(500):
        tree = {"not": tree}
    with pytest.raises(ValidationError) as refused:
        condition(tree)
    assert refused.value.error_count() == 1 and "at most 6 deep" in str(refused.value)


def test_trigger_parameters_are_required_where_they_matter() -> None:
    for bad in ({"type": "case_waiting"}, {"type": "message_received", "minutes": 5},
                {"type": "score_crossed", "score": "churn_score"}, {"type": "first_response_sla"},
                {"type": "case_resolved", "percent": 80}):  # fmt: skip
        with pytest.raises(ValidationError):
            RuleDefinition.model_validate({"trigger": bad, "actions": [{"type": "close"}]})


def test_timed_and_score_triggers_match_their_own_parameter_only() -> None:
    rule = compiled(1, {"trigger": {"type": "case_waiting", "minutes": 30}, "actions": [{"type": "close"}]})
    event = AutomationEvent("case_waiting", MONDAY_NOON, "w:1:30", "c1", minutes=30)
    assert len(evaluate([rule], event, {})) == 1
    other = AutomationEvent("case_waiting", MONDAY_NOON, "w:1:10", "c1", minutes=10)
    assert evaluate([rule], other, {}) == []


def test_a_rule_is_not_triggered_by_its_own_actions() -> None:
    rule = compiled(1, {"trigger": {"type": "message_received"}, "actions": [{"type": "close"}]})
    assert evaluate([rule], message(origin=1), {}) == []
    assert len(evaluate([rule], message(origin=2), {})) == 1


def test_calendar_with_time_zone_and_holidays() -> None:
    berlin = Calendar(timezone="Europe/Berlin", opens="09:00", closes="17:00", holidays=[date(2026, 12, 24)])
    assert berlin.contains(datetime(2026, 12, 7, 8, 30, tzinfo=UTC))  # 09:30 in Berlin, a Monday
    assert not berlin.contains(datetime(2026, 12, 7, 16, 30, tzinfo=UTC))  # 17:30 in Berlin
    assert not berlin.contains(datetime(2026, 12, 5, 12, 0, tzinfo=UTC))  # Saturday
    assert not berlin.contains(datetime(2026, 12, 24, 12, 0, tzinfo=UTC))  # a holiday, a Thursday
    with pytest.raises(ValidationError):
        Calendar(timezone="Mars/Olympus")


def test_business_hours_rule_does_nothing_outside_the_calendar() -> None:
    definition = {"trigger": {"type": "message_received"}, "actions": [{"type": "close"}],
                  "active": "business_hours", "calendar": {"timezone": "America/New_York"}}  # fmt: skip
    rule = compiled(1, definition)
    assert len(evaluate([rule], message(datetime(2026, 12, 7, 15, 0, tzinfo=UTC)), {})) == 1  # 10:00 NY
    assert evaluate([rule], message(datetime(2026, 12, 7, 23, 0, tzinfo=UTC)), {}) == []  # 18:00 NY


def test_caps_block_and_say_why() -> None:
    actions = [{"type": "send_message", "text": "hello"}, {"type": "add_tag", "tag": "a"}]
    send = {"trigger": {"type": "message_received"}, "actions": [*actions, {"type": "add_tag", "tag": "b"}]}
    planned = evaluate([compiled(1, send)], message(), {}, Ledger(contacts_last_day=2), Limits(2, 2))
    assert [(p.type, p.outcome) for p in planned] == [
        ("send_message", "blocked"), ("add_tag", "run"), ("add_tag", "run")]  # fmt: skip
    assert "contact cap" in (planned[0].reason or "")
    planned = evaluate([compiled(1, send)], message(), {}, Ledger(actions_last_hour=1), Limits(2, 2))
    assert [p.outcome for p in planned] == ["run", "blocked", "blocked"]


def test_the_memory_ledger_counts_like_the_caps_say() -> None:
    send = compiled(
        1, {"trigger": {"type": "message_received"}, "actions": [{"type": "send_message", "text": "x"}]}
    )
    memory, outcomes = MemoryLedger(), []
    for n in range(4):  # four messages within a day: two contacts allowed
        event = message(MONDAY_NOON + timedelta(hours=n * 2), key=f"message:{n}")
        planned = evaluate([send], event, {}, memory.for_event(event), Limits(10, 2))
        memory.record(planned)
        outcomes += [p.outcome for p in planned]
    assert outcomes == ["run", "run", "blocked", "blocked"]
    later = message(MONDAY_NOON + timedelta(days=2), key="message:9")  # a day later the cap is free again
    assert [p.outcome for p in evaluate([send], later, {}, memory.for_event(later), Limits(10, 2))] == ["run"]


# --------------------------------------------------------------------------------- property test

TRIGGERS = ["message_received", "case_created", "case_resolved", "conversation_opened"]
ACTIONS = st.sampled_from(
    [
        {"type": "close"},
        {"type": "hand_back"},
        {"type": "add_tag", "tag": "vip"},
        {"type": "add_tag", "tag": "x"},
        {"type": "send_message", "text": "hello"},
        {"type": "set_priority", "value": 50},
        {"type": "assign_team", "skill": "billing"},
        {"type": "notify_supervisors", "text": "look"},
    ]
)
LEAVES = st.sampled_from(
    [
        {"field": "intent", "op": "eq", "value": "cancel"},
        {"field": "plan", "op": "eq", "value": "premium"},
        {"field": "sentiment_score", "op": "lt", "value": 0},
        {"field": "tags", "op": "contains", "value": "vip"},
    ]
)
CONDITIONS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)
DEFINITIONS = st.fixed_dictionaries(
    {
        "trigger": st.builds(lambda t: {"type": t}, st.sampled_from(TRIGGERS)),
        "actions": st.lists(ACTIONS, min_size=1, max_size=5),
    },
    optional={"conditions": CONDITIONS},
)
RULE_SETS = st.lists(st.tuples(st.integers(1, 6), DEFINITIONS), max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    rules=RULE_SETS,
    trigger=st.sampled_from(TRIGGERS),
    origin=st.one_of(st.none(), st.integers(1, 6)),
    cap=st.integers(1, 12),
    contacts=st.integers(1, 3),
)
def test_no_rule_set_makes_an_action_fire_twice_for_one_event(rules, trigger, origin, cap, contacts) -> None:
    compiled_rules = [compiled(rule_id, d, version_id=i + 1) for i, (rule_id, d) in enumerate(rules)]
    event = AutomationEvent(trigger, MONDAY_NOON, "event:1", "c1", customer_id=7, origin_rule_id=origin)
    context = dict(CONTEXT)
    limits = Limits(cap, contacts)
    memory = MemoryLedger()
    first = evaluate(compiled_rules, event, context, memory.for_event(event), limits)
    memory.record(first)
    # Once per event: no action twice in one evaluation...
    assert len({p.fingerprint for p in first}) == len(first)
    # ... nor when the same event is evaluated again (a second worker, a sweep finding it again).
    assert evaluate(compiled_rules, event, context, memory.for_event(event), limits) == []
    # And the guardrails hold: never a rule on its own event, never more run than the caps allow.
    assert all(p.rule_id != origin for p in first)
    assert sum(p.outcome == "run" for p in first) <= cap
    assert sum(p.outcome == "run" and p.contact for p in first) <= contacts
