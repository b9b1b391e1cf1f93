"""The rule evaluator: pure and deterministic, so the dry-run and the live engine run the same code.

`evaluate(rules, event, context, ledger, limits)` returns every action the rules plan for one event, each
marked `run` or `blocked` (with the guardrail that blocked it). It reads no clock, database or network:
the event carries its time, the context is a snapshot, and the ledger says what automation already did
(the live engine reads it from the firings table; the dry-run keeps it in memory as it replays).

Guardrails, in order:
1. an event caused by a rule's own action does not trigger that rule (`event.origin_rule_id`);
2. the rule's calendar scope (`active`): business hours, or outside them, with time zone and holidays;
3. one action runs at most once per event, whichever and however many rules plan it (same fingerprint);
4. at most `max_actions_per_hour` actions per conversation per hour, across all rules;
5. at most `max_contacts_per_day` messages to one customer in 24 hours, across all rules;
6. (checked first, per action) a marketing action (a retention offer, a message marked marketing) needs
   the customer's marketing consent and chat among their contact channels.

A consent block is logged as a decision (`blocked:<action>`, the reason starting "consent:") and shown by
the dry-run, but does not go to the exception queue: a supervisor cannot fix it (the customer's choice is
not theirs to override, and a retry from the queue skips the guardrails), and one entry per non-consenting
customer would bury the failures a supervisor can act on. Caps and failures still go to the queue.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from backend.automation.schemas import CONTACT_ACTIONS, Calendar, Condition, RuleDefinition, is_marketing

CONSENT = "consent: "  # the reason's prefix of a consent block (see the module's docstring)
CHAT = "chat"  # automation reaches the customer in the chat widget


@dataclass(frozen=True)
class AutomationEvent:
    """Something a trigger listens for. `key` names it uniquely (e.g. "message:42", "waiting:7:30"):
    the firings ledger is keyed by it. Timed and score events carry the parameter they passed."""

    trigger: str
    at: datetime
    key: str
    conversation_id: str | None = None
    case_id: int | None = None
    customer_id: int | None = None
    message_id: int | None = None
    origin_rule_id: int | None = None
    minutes: int | None = None
    percent: int | None = None
    score: str | None = None
    threshold: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        out["at"] = self.at.isoformat()
        return out


@dataclass(frozen=True)
class CompiledRule:
    rule_id: int
    version_id: int
    definition: RuleDefinition


@dataclass(frozen=True)
class Limits:
    max_actions_per_hour: int = 10
    max_contacts_per_day: int = 2
    calendar: Calendar = field(default_factory=Calendar)
    # Quiet this long with no open case, a conversation has ended (ANALYTICS_IDLE_END_S): for reopened.
    idle_end: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class Ledger:
    """What automation already did, as far as this event's guardrails care."""

    actions_last_hour: int = 0  # run for this conversation in the hour before the event
    contacts_last_day: int = 0  # messages sent to this customer in the 24 hours before the event
    last_contact_at: datetime | None = None
    done: frozenset[str] = frozenset()  # fingerprints already planned for this event


@dataclass(frozen=True)
class PlannedAction:
    rule_id: int
    version_id: int
    action_index: int
    action: dict[str, Any]
    fingerprint: str
    event: AutomationEvent
    outcome: str  # run, blocked
    reason: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return str(self.action["type"])

    @property
    def contact(self) -> bool:
        return self.type in CONTACT_ACTIONS

    @property
    def queued(self) -> bool:
        """Whether the action goes to the exception queue: blocked by a guardrail other than consent."""
        return self.outcome == "blocked" and not (self.reason or "").startswith(CONSENT)


def fingerprint(action: Mapping[str, Any]) -> str:
    canonical = json.dumps(action, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


# ------------------------------------------------------------------------------------------ conditions


def holds(condition: Condition | None, context: Mapping[str, Any]) -> bool:
    if condition is None:
        return True
    if condition.all is not None:
        return all(holds(child, context) for child in condition.all)
    if condition.any is not None:
        return any(holds(child, context) for child in condition.any)
    if condition.not_ is not None:
        return not holds(condition.not_, context)
    return _compare(condition, context.get(str(condition.field)))


def _compare(leaf: Condition, actual: Any) -> bool:
    op, value = leaf.op, leaf.value
    present = actual is not None and actual != []
    if op == "is_set":
        return present
    if op == "is_not_set":
        return not present
    if actual is None:
        return False  # an unknown field satisfies no comparison, not even `ne`
    if op == "contains":
        return value in actual
    if op == "in":
        return actual in value  # type: ignore[operator]
    if op == "not_in":
        return actual not in value  # type: ignore[operator]
    if op == "eq":
        return actual == value
    if op == "ne":
        return actual != value
    if isinstance(actual, bool) or not isinstance(actual, int | float):
        return False
    number = float(value)  # type: ignore[arg-type]
    return {"lt": actual < number, "le": actual <= number, "gt": actual > number, "ge": actual >= number}[op]


# -------------------------------------------------------------------------------------------- matching


def triggered_by(definition: RuleDefinition, event: AutomationEvent) -> bool:
    trigger = definition.trigger
    if trigger.type != event.trigger:
        return False
    if trigger.minutes is not None and trigger.minutes != event.minutes:
        return False
    if trigger.percent is not None and trigger.percent != event.percent:
        return False
    if trigger.score is not None:
        return trigger.score == event.score and trigger.threshold == event.threshold
    if trigger.type == "schedule":  # one event per conversation, or one per slot with target none
        return (trigger.target == "none") == (event.conversation_id is None)
    return True


def in_scope(definition: RuleDefinition, at: datetime, limits: Limits) -> bool:
    if definition.active == "always":
        return True
    inside = (definition.calendar or limits.calendar).contains(at)
    return inside if definition.active == "business_hours" else not inside


def rule_context(
    definition: RuleDefinition, event: AutomationEvent, context: Mapping[str, Any], ledger: Ledger,
    limits: Limits,
) -> dict[str, Any]:  # fmt: skip
    """The snapshot plus the two fields that depend on the rule and the ledger."""
    since = None
    if ledger.last_contact_at is not None:
        since = round((event.at - ledger.last_contact_at) / timedelta(minutes=1), 2)
    calendar = definition.calendar or limits.calendar
    return {**context, "business_hours": calendar.contains(event.at), "minutes_since_last_contact": since}


def evaluate(
    rules: Iterable[CompiledRule],
    event: AutomationEvent,
    context: Mapping[str, Any],
    ledger: Ledger = Ledger(),
    limits: Limits = Limits(),
) -> list[PlannedAction]:
    """Every action the rules plan for this event, in rule-id then action order, run or blocked."""
    planned: list[PlannedAction] = []
    seen = set(ledger.done)
    ran, contacted = ledger.actions_last_hour, ledger.contacts_last_day
    for rule in sorted(rules, key=lambda r: (r.rule_id, r.version_id)):
        definition = rule.definition
        if event.origin_rule_id == rule.rule_id or not triggered_by(definition, event):
            continue
        if not in_scope(definition, event.at, limits):
            continue
        snapshot = rule_context(definition, event, context, ledger, limits)
        if not holds(definition.conditions, snapshot):
            continue
        for index, action in enumerate(definition.actions):
            body = action.model_dump(mode="json")
            mark = fingerprint(body)
            if mark in seen:
                continue  # this event already has this action, from this rule or another
            seen.add(mark)
            item = PlannedAction(
                rule.rule_id, rule.version_id, index, body, mark, event, "run", None, snapshot
            )
            reason = _no_consent(item) or _blocked(item, ran, contacted, limits)
            if reason is not None:
                item = replace(item, outcome="blocked", reason=reason)
            else:
                ran += 1
                contacted += item.contact
            planned.append(item)
    return planned


def _no_consent(item: PlannedAction) -> str | None:
    """Why a marketing action may not reach this customer (None: it may, or it is not marketing)."""
    return consent_refusal(item.context) if is_marketing(item.action) else None


def consent_refusal(context: Mapping[str, Any]) -> str | None:
    """Why marketing may not reach the customer this context describes (None: it may)."""
    if not context.get("marketing_consent"):
        return f"{CONSENT}no marketing consent"
    if CHAT not in (context.get("contact_channels") or []):
        return f"{CONSENT}the customer does not accept marketing in chat"
    return None


def _blocked(item: PlannedAction, ran: int, contacted: int, limits: Limits) -> str | None:
    if item.event.conversation_id is not None and ran >= limits.max_actions_per_hour:
        return f"cap: {limits.max_actions_per_hour} automated actions per conversation per hour"
    if item.contact and contacted >= limits.max_contacts_per_day:
        return f"contact cap: {limits.max_contacts_per_day} messages per customer per day"
    return None
