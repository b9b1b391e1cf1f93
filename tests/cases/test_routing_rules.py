"""Property tests of the assignment rules (backend/cases/routing.py) over random queues and teams."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.cases.routing import (
    AgentSnapshot,
    PriorityWeights,
    WaitingCase,
    base_priority,
    effective_priority,
    plan,
)

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
SKILLS = ["general", "billing", "technical"]
LANGS = ["en", "de"]

agents_st = st.lists(
    st.builds(
        AgentSnapshot,
        id=st.integers(1, 10_000),
        status=st.sampled_from(["online", "online", "away", "offline"]),
        skills=st.dictionaries(st.sampled_from(SKILLS), st.integers(0, 5), max_size=3),
        languages=st.lists(st.sampled_from(LANGS), min_size=1, max_size=2, unique=True).map(tuple),
        capacity=st.integers(0, 4),
        load=st.integers(0, 4),
        last_assigned_at=st.one_of(
            st.none(), st.integers(0, 10_000).map(lambda s: NOW - timedelta(seconds=s))
        ),
    ),
    max_size=8,
    unique_by=lambda a: a.id,
)
cases_st = st.lists(
    st.builds(
        WaitingCase,
        id=st.integers(1, 100_000),
        skill=st.sampled_from(SKILLS),
        language=st.sampled_from(LANGS),
        priority=st.floats(0, 200, allow_nan=False),
        created_at=st.integers(0, 3600).map(lambda s: NOW - timedelta(seconds=s)),
    ),
    max_size=30,
    unique_by=lambda c: c.id,
)


@settings(max_examples=300, deadline=None)
@given(cases=cases_st, agents=agents_st)
def test_capacity_is_never_exceeded_and_each_case_is_assigned_once(cases, agents):
    decisions = plan(cases, agents, NOW)
    per_agent = Counter(agent_id for _, agent_id in decisions)
    by_id = {a.id: a for a in agents}
    for agent_id, count in per_agent.items():
        assert count <= max(by_id[agent_id].capacity - by_id[agent_id].load, 0)
    assert len({case_id for case_id, _ in decisions}) == len(decisions)


@settings(max_examples=300, deadline=None)
@given(cases=cases_st, agents=agents_st)
def test_only_online_agents_with_the_skill_and_language_get_cases(cases, agents):
    by_case = {c.id: c for c in cases}
    by_agent = {a.id: a for a in agents}
    for case_id, agent_id in plan(cases, agents, NOW):
        case, agent = by_case[case_id], by_agent[agent_id]
        assert agent.status == "online"
        assert agent.skills.get(case.skill, 0) >= 1
        assert case.language in agent.languages


@settings(max_examples=300, deadline=None)
@given(cases=cases_st, agents=agents_st)
def test_higher_priority_never_waits_behind_lower_priority_of_the_same_skill(cases, agents):
    assigned = {case_id for case_id, _ in plan(cases, agents, NOW)}
    for low in cases:
        if low.id not in assigned:
            continue
        for high in cases:
            same_queue = high.skill == low.skill and high.language == low.language
            if same_queue and high.priority > low.priority:
                assert high.id in assigned, (
                    f"case {high.id} ({high.priority}) waits behind {low.id} ({low.priority})"
                )


@settings(max_examples=100, deadline=None)
@given(cases=cases_st, agents=agents_st)
def test_a_case_waits_only_when_no_agent_can_take_it(cases, agents):
    decisions = plan(cases, agents, NOW)
    assigned = {case_id for case_id, _ in decisions}
    load = Counter(agent_id for _, agent_id in decisions)
    for case in cases:
        if case.id in assigned:
            continue
        for a in agents:
            free = a.load + load[a.id] < a.capacity
            can = a.status == "online" and a.skills.get(case.skill, 0) >= 1 and case.language in a.languages
            assert not (free and can), f"case {case.id} waits although agent {a.id} could take it"


def test_least_loaded_then_longest_idle_agent_is_chosen():
    case = WaitingCase(1, "billing", "en", 10.0, NOW)
    busy = AgentSnapshot(1, "online", {"billing": 5}, ("en",), 3, 2, None)
    idle_long = AgentSnapshot(2, "online", {"billing": 1}, ("en",), 3, 1, NOW - timedelta(hours=2))
    idle_short = AgentSnapshot(3, "online", {"billing": 1}, ("en",), 3, 1, NOW - timedelta(minutes=5))
    assert plan([case], [busy, idle_short, idle_long], NOW) == [(1, 2)]


def test_priority_formula_and_aging():
    w = PriorityWeights(escalation=50, churn=30, value=20, value_cap=2000, wait_per_minute=1)
    assert base_priority(None, None, None, w) == 0
    assert base_priority(1.0, 1.0, 5000, w) == 100
    assert base_priority(0.5, 0.0, 1000, w) == 35
    assert effective_priority(10, NOW - timedelta(minutes=30), NOW, w) == 40
    # An old low-risk case overtakes a fresh urgent one after long enough.
    old = effective_priority(base_priority(0.1, 0.1, 0, w), NOW - timedelta(hours=2), NOW, w)
    fresh = effective_priority(base_priority(1.0, 1.0, 2000, w), NOW, NOW, w)
    assert old > fresh
