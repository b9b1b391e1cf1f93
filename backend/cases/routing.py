"""Who gets which waiting case: the assignment rules, as pure functions over snapshots.

Rules, in order:
1. Cases are served highest effective priority first (ties: the one waiting longest).
2. An agent is eligible for a case when online, holding the case's skill (level >= 1), speaking its language
   and below their maximum of concurrent cases.
3. Among eligible agents: anyone but the agent the case was taken from for not replying in time (it goes to
   the next agent; back to them only when nobody else is eligible), then the least loaded, then the one idle
   longest (never assigned counts as idlest), then the higher skill level, then the lower id (so the choice
   is deterministic).
A case nobody can take stays queued; a lower-priority case of the same skill and language is then never
served before it, because every agent eligible for the lower one would have been eligible for it.

Effective priority grows while a case waits (see `effective_priority`), so an old low-risk case eventually
overtakes newer urgent ones instead of starving.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from backend.core.config import Settings


@dataclass(frozen=True)
class AgentSnapshot:
    id: int
    status: str
    skills: dict[str, int]
    languages: tuple[str, ...]
    capacity: int
    load: int
    last_assigned_at: datetime | None


@dataclass(frozen=True)
class WaitingCase:
    id: int
    skill: str
    language: str
    priority: float  # effective priority now
    created_at: datetime
    passed_over: int | None = None  # the agent it was taken from for not replying (or accepting) in time


@dataclass(frozen=True)
class PriorityWeights:
    """Documented in the README's configuration table; all from Settings."""

    escalation: float = 50.0  # points at escalation risk 1.0
    churn: float = 30.0  # points at churn risk 1.0
    value: float = 20.0  # points for a customer worth `value_cap` or more
    value_cap: float = 2000.0  # lifetime value that earns the full value points
    wait_per_minute: float = 1.0  # points added per minute in the queue

    @classmethod
    def from_settings(cls, settings: Settings) -> "PriorityWeights":
        return cls(
            escalation=settings.priority_weight_escalation,
            churn=settings.priority_weight_churn,
            value=settings.priority_weight_value,
            value_cap=settings.priority_value_cap,
            wait_per_minute=settings.priority_wait_per_minute,
        )


def base_priority(
    escalation: float | None, churn: float | None, value: float | None, w: PriorityWeights
) -> float:
    """Priority at hand-off time, from 0 to escalation + churn + value weights. Unknown risks count as 0."""
    value_share = min(max(value or 0.0, 0.0) / w.value_cap, 1.0) if w.value_cap > 0 else 0.0
    return w.escalation * (escalation or 0.0) + w.churn * (churn or 0.0) + w.value * value_share


def effective_priority(base: float, created_at: datetime, now: datetime, w: PriorityWeights) -> float:
    waited_min = max((now - created_at).total_seconds(), 0.0) / 60.0
    return base + w.wait_per_minute * waited_min


def is_eligible(agent: AgentSnapshot, case: WaitingCase) -> bool:
    return (
        agent.status == "online"
        and agent.skills.get(case.skill, 0) >= 1
        and case.language in agent.languages
        and agent.load < agent.capacity
    )


def _preference(agent: AgentSnapshot, case: WaitingCase) -> tuple[bool, int, float, int, int]:
    idle_since = agent.last_assigned_at.timestamp() if agent.last_assigned_at else float("-inf")
    # A preference, not an eligibility rule: eligibility stays what rule 2 says, so rule 1's guarantee holds.
    passed_over = agent.id == case.passed_over
    return (passed_over, agent.load, idle_since, -agent.skills.get(case.skill, 0), agent.id)


def plan(cases: list[WaitingCase], agents: list[AgentSnapshot], now: datetime) -> list[tuple[int, int]]:
    """(case id, agent id) pairs to assign now, in the order they were decided."""
    pool = {a.id: a for a in agents}
    decisions: list[tuple[int, int]] = []
    for case in sorted(cases, key=lambda c: (-c.priority, c.created_at, c.id)):
        eligible = [a for a in pool.values() if is_eligible(a, case)]
        if not eligible:
            continue
        chosen = min(eligible, key=lambda a: _preference(a, case))
        pool[chosen.id] = replace(chosen, load=chosen.load + 1, last_assigned_at=now)
        decisions.append((case.id, chosen.id))
    return decisions
