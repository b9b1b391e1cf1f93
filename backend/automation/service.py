"""Rules and their versions, the dry-run, and the exception queue.

A rule's definition is never edited in place: a change adds a version. `active_version_id` is the version
that runs when the rule is enabled; enabling names a version (by default the newest) and requires that it
was dry-run, so nobody turns on a rule without having seen what it would have done. Rollback makes the
version before the active one active again, in one call. Every change is audited; the caller commits.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.automation import context as contexts
from backend.automation import events as sources
from backend.automation.evaluator import CompiledRule, Limits, PlannedAction, evaluate, triggered_by
from backend.automation.ledger import MemoryLedger
from backend.automation.models import AutomationException, Rule, RuleVersion
from backend.automation.schemas import RuleDefinition
from backend.core.database import utcnow

# A dry-run replays at most this many events (the newest): enough to judge a rule, bounded in time.
MAX_REPLAY_EVENTS = 5000


class RuleConflict(ValueError):
    """The change is not allowed in the rule's state (the message says why)."""


def _definition(definition: RuleDefinition) -> dict[str, Any]:
    return definition.model_dump(mode="json", by_alias=True, exclude_none=True)


async def create(session: AsyncSession, name: str, definition: RuleDefinition, actor: str) -> Rule:
    taken = await session.execute(select(Rule.id).where(Rule.name == name))
    if taken.first() is not None:
        raise RuleConflict(f"a rule named {name!r} exists")
    rule = Rule(name=name, enabled=False)
    session.add(rule)
    await session.flush()
    version = await add_version(session, rule, definition, actor, audited=False)
    rule.active_version_id = version.id
    after = {"name": name, "version": version.number, "definition": version.definition}
    audit.record(session, actor, "automation.rule.create", "automation_rule", rule.id, after=after)
    return rule


async def add_version(
    session: AsyncSession, rule: Rule, definition: RuleDefinition, actor: str, audited: bool = True
) -> RuleVersion:
    """A new version (not yet active: enabling it needs its dry-run first)."""
    latest = await latest_version(session, rule.id)
    version = RuleVersion(
        rule_id=rule.id,
        number=(latest.number + 1) if latest is not None else 1,
        definition=_definition(definition),
        created_by=actor,
    )
    session.add(version)
    await session.flush()
    rule.updated_at = utcnow()
    if audited:
        before = {"version": latest.number, "definition": latest.definition} if latest else None
        after = {"version": version.number, "definition": version.definition}
        audit.record(session, actor, "automation.rule.version", "automation_rule", rule.id, before, after)
    return version


async def latest_version(session: AsyncSession, rule_id: int) -> RuleVersion | None:
    query = select(RuleVersion).where(RuleVersion.rule_id == rule_id).order_by(RuleVersion.number.desc())
    return (await session.execute(query.limit(1))).scalars().first()


async def versions(session: AsyncSession, rule_id: int) -> list[RuleVersion]:
    query = select(RuleVersion).where(RuleVersion.rule_id == rule_id).order_by(RuleVersion.number.desc())
    return list((await session.execute(query)).scalars())


async def version_of(session: AsyncSession, rule: Rule, version_id: int | None) -> RuleVersion:
    version = (
        await latest_version(session, rule.id)
        if version_id is None
        else await session.get(RuleVersion, version_id)
    )
    if version is None or version.rule_id != rule.id:
        raise LookupError(f"rule {rule.id} has no version {version_id}")
    return version


async def enable(session: AsyncSession, rule: Rule, version: RuleVersion, actor: str) -> Rule:
    if version.dry_run_at is None:
        raise RuleConflict(f"version {version.number} has not been dry-run; dry-run it first")
    before = {"enabled": rule.enabled, "active_version_id": rule.active_version_id}
    rule.enabled, rule.active_version_id, rule.updated_at = True, version.id, utcnow()
    after = {"enabled": True, "active_version_id": version.id, "version": version.number}
    audit.record(session, actor, "automation.rule.enable", "automation_rule", rule.id, before, after)
    return rule


def disable(session: AsyncSession, rule: Rule, actor: str) -> Rule:
    before = {"enabled": rule.enabled}
    rule.enabled, rule.updated_at = False, utcnow()
    audit.record(
        session, actor, "automation.rule.disable", "automation_rule", rule.id, before, {"enabled": False}
    )
    return rule


async def rollback(session: AsyncSession, rule: Rule, actor: str) -> RuleVersion:
    """The version before the active one becomes active again (enabled or not, as the rule was)."""
    active = await session.get(RuleVersion, rule.active_version_id) if rule.active_version_id else None
    if active is None:
        raise RuleConflict("the rule has no active version")
    query = (
        select(RuleVersion)
        .where(RuleVersion.rule_id == rule.id, RuleVersion.number < active.number)
        .order_by(RuleVersion.number.desc())
        .limit(1)
    )
    previous = (await session.execute(query)).scalars().first()
    if previous is None:
        raise RuleConflict(f"version {active.number} is the first; there is nothing to roll back to")
    rule.active_version_id, rule.updated_at = previous.id, utcnow()
    before, after = {"version": active.number}, {"version": previous.number}
    audit.record(session, actor, "automation.rule.rollback", "automation_rule", rule.id, before, after)
    return previous


async def live_rules(session: AsyncSession) -> list[CompiledRule]:
    """The enabled rules at their active versions."""
    query = (
        select(Rule.id, RuleVersion.id, RuleVersion.definition)
        .join(RuleVersion, RuleVersion.id == Rule.active_version_id)
        .where(Rule.enabled.is_(True))
        .order_by(Rule.id)
    )
    rows = (await session.execute(query)).all()
    return [CompiledRule(rid, vid, RuleDefinition.model_validate(d)) for rid, vid, d in rows]


async def version_count(session: AsyncSession, rule_id: int) -> int:
    query = select(func.count(RuleVersion.id)).where(RuleVersion.rule_id == rule_id)
    return int((await session.execute(query)).scalar_one())


# ------------------------------------------------------------------------------------------ dry-run


async def replay(
    session: AsyncSession, rules: list[CompiledRule], days: int, limits: Limits
) -> tuple[int, int, list[PlannedAction]]:
    """The last `days` days of logged events (at most the newest MAX_REPLAY_EVENTS) through the evaluator,
    with a ledger kept in memory; nothing is written. Returns (events, events that planned something,
    planned actions)."""
    now = utcnow()
    window = await sources.replay(session, now - timedelta(days=days), now, rules, limits.idle_end)
    found = window[-MAX_REPLAY_EVENTS:]
    memory, planned, matched = MemoryLedger(), [], 0
    for event in found:
        relevant = [rule for rule in rules if triggered_by(rule.definition, event)]
        if not relevant:
            continue
        context = await contexts.snapshot(session, event)
        items = evaluate(relevant, event, context, memory.for_event(event), limits)
        memory.record(items)
        matched += bool(items)
        planned += items
    return len(found), matched, planned


async def dry_run(
    session: AsyncSession, rule: Rule, version: RuleVersion, days: int, limits: Limits, actor: str
) -> tuple[int, int, list[PlannedAction]]:
    compiled = CompiledRule(rule.id, version.id, RuleDefinition.model_validate(version.definition))
    total, matched, planned = await replay(session, [compiled], days, limits)
    version.dry_run_at = utcnow()
    blocked = sum(item.outcome == "blocked" for item in planned)
    summary = {"days": days, "events": total, "matched_events": matched, "actions": len(planned) - blocked}
    version.dry_run_summary = {**summary, "blocked": blocked, "by": actor}
    audit.record(session, actor, "automation.rule.dry_run", "automation_rule", rule.id,
                 after={"version": version.number, **version.dry_run_summary})  # fmt: skip
    return total, matched, planned


# ------------------------------------------------------------------------------------ exception queue


async def exceptions(session: AsyncSession, state: str | None, limit: int) -> list[AutomationException]:
    query = select(AutomationException).order_by(AutomationException.id.desc()).limit(limit)
    if state is not None:
        query = query.where(AutomationException.state == state)
    return list((await session.execute(query)).scalars())


def close_exception(session: AsyncSession, item: AutomationException, state: str, by: str) -> None:
    before = {"state": item.state}
    item.state, item.handled_by, item.handled_at = state, by, utcnow()
    audit.record(session, by, f"automation.exception.{state}", "automation_exception", item.id, before,
                 {"state": state, "attempts": item.attempts})  # fmt: skip
