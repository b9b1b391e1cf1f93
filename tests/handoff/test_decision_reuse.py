"""The hub reuses the decision the person-offer route made on the same turns (lifecycle/handoff.py)."""

import asyncio
from dataclasses import replace

from backend.handoff.features import TurnView
from backend.handoff.policy import HandoffDecision, RulesPolicy
from backend.lifecycle import handoff

TURNS = (TurnView("request_human", "negative", -0.8, "a person please"),)


class CountingRules(RulesPolicy):
    def __init__(self) -> None:
        self.calls = 0

    def decide(self, turns: object) -> HandoffDecision:
        self.calls += 1
        return super().decide(turns)  # type: ignore[arg-type]


def test_a_remembered_decision_is_reused_once_for_the_same_conversation_policy_and_turns() -> None:
    policy = CountingRules()
    first = asyncio.run(handoff.decide(policy, "c-1", TURNS, 1.0))
    handoff._remember(("c-1", policy, TURNS), first)
    assert asyncio.run(handoff.decide(policy, "c-1", TURNS, 1.0)) == first  # the hub's, after the turn
    assert policy.calls == 1
    asyncio.run(handoff.decide(policy, "c-1", TURNS, 1.0))  # used up: decided again
    assert policy.calls == 2


def test_other_turns_another_conversation_or_a_fallback_are_decided_again() -> None:
    policy = CountingRules()
    decided = asyncio.run(handoff.decide(policy, "c-2", TURNS, 1.0))
    handoff._remember(("c-2", policy, TURNS), decided)
    title = (replace(TURNS[0], text="/affirm"),)  # the bot saw the payload, the hub stored the title
    asyncio.run(handoff.decide(policy, "c-2", title, 1.0))
    asyncio.run(handoff.decide(policy, "c-3", TURNS, 1.0))
    assert policy.calls == 3
    fallback = (replace(decided[0], fallback="learnt@x missed its 50 ms deadline"), 50.0)
    handoff._remember(("c-4", policy, TURNS), fallback)
    asyncio.run(handoff.decide(policy, "c-4", TURNS, 1.0))
    assert policy.calls == 4
