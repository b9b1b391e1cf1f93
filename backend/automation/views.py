"""The automation API: rules and versions (admins), dry-run, enable, rollback; the exception queue
(supervisors); tags (any staff). Every change is audited with the staff member as the actor."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy import select

from backend.agents.models import Agent
from backend.auth.dependencies import AdminDep, StaffDep, SupervisorDep
from backend.automation import schemas, service
from backend.automation.engine import Engine, limits_from
from backend.automation.evaluator import AutomationEvent, PlannedAction
from backend.automation.models import AutomationException, ConversationTag, Rule
from backend.automation.schemas import (
    DryRunOut,
    ExceptionOut,
    PlannedActionOut,
    RuleIn,
    RuleOut,
    TagOut,
    VersionIn,
    VersionOut,
)
from backend.core.dependencies import SessionDep, SettingsDep
from backend.core.errors import error_response
from backend.core.params import RecordId
from backend.core.text import Text

router = APIRouter(prefix="/api/automation", tags=["automation"])
NOT_FOUND = error_response(404, "No such rule, version or exception.")
CONFLICT = error_response(409, "Not allowed in the rule's state (the reason is given).")
VersionId = Annotated[int | None, Query(ge=0, le=2**63 - 1)]


def engine(request: Request) -> Engine:
    return request.app.state.automation


def _actor(agent: Agent) -> str:
    return f"agent:{agent.id}"


async def _rule(session: SessionDep, rule_id: int) -> Rule:
    rule = await session.get(Rule, rule_id)
    if rule is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no automation rule {rule_id}")
    return rule


async def _out(session: SessionDep, rule: Rule) -> RuleOut:
    active = (
        await session.get(service.RuleVersion, rule.active_version_id) if rule.active_version_id else None
    )
    latest = await service.latest_version(session, rule.id)
    return RuleOut(
        id=rule.id,
        name=rule.name,
        enabled=rule.enabled,
        active_version=VersionOut.model_validate(active) if active else None,
        latest_version=VersionOut.model_validate(latest) if latest else None,
        versions=await service.version_count(session, rule.id),
    )


def _field_type(name: str) -> str:
    if name in schemas.NUMBER_FIELDS:
        return "number"
    if name in schemas.TEXT_FIELDS:
        return "text"
    return "tags" if name == "tags" else "boolean"


ACTIONS = ["set_priority", "add_tag", "assign_team", "assign_agent", "send_message", "retention_offer",
           "notify_supervisors", "hand_back", "close", "webhook"]  # fmt: skip
# Through the API only: none now (the admin form, backend/web/static/automation.js, builds its action rows
# from `actions` and has a row for each).
API_ONLY_ACTIONS: list[str] = []


@router.get("/schema")
async def rule_language(staff: AdminDep) -> dict[str, Any]:
    """The rule language for the admin form: triggers, context fields, operators, actions, skills."""
    return {
        "triggers": list(get_args(schemas.TriggerType)),
        "timed_triggers": sorted(schemas.TIMED),
        "fields": {name: _field_type(name) for name in get_args(schemas.Field_)},
        "operators": list(get_args(schemas.Operator)),
        "actions": ACTIONS,
        "api_only_actions": API_ONLY_ACTIONS,
        "skills": list(schemas.SKILLS),
        "scores": ["escalation_score", "churn_score"],
    }


@router.get("/rules", response_model=list[RuleOut])
async def list_rules(session: SessionDep, staff: AdminDep) -> list[RuleOut]:
    rules = (await session.execute(select(Rule).order_by(Rule.id))).scalars()
    return [await _out(session, rule) for rule in rules]


@router.post("/rules", response_model=RuleOut, status_code=status.HTTP_201_CREATED, responses=CONFLICT)
async def create_rule(body: RuleIn, session: SessionDep, staff: AdminDep) -> RuleOut:
    """A new rule, disabled, at version 1: dry-run it, then enable it."""
    try:
        rule = await service.create(session, body.name, body.definition, _actor(staff))
    except service.RuleConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    await session.commit()
    return await _out(session, rule)


@router.get("/rules/{rule_id}", response_model=RuleOut, responses=NOT_FOUND)
async def get_rule(rule_id: RecordId, session: SessionDep, staff: AdminDep) -> RuleOut:
    return await _out(session, await _rule(session, rule_id))


@router.put("/rules/{rule_id}", response_model=RuleOut, responses=NOT_FOUND)
async def change_rule(rule_id: RecordId, body: VersionIn, session: SessionDep, staff: AdminDep) -> RuleOut:
    """A change is a new version; the active one keeps running until the new one is dry-run and enabled."""
    rule = await _rule(session, rule_id)
    await service.add_version(session, rule, body.definition, _actor(staff))
    await session.commit()
    return await _out(session, rule)


@router.get("/rules/{rule_id}/versions", response_model=list[VersionOut], responses=NOT_FOUND)
async def list_versions(rule_id: RecordId, session: SessionDep, staff: AdminDep) -> list[VersionOut]:
    rule = await _rule(session, rule_id)
    return [VersionOut.model_validate(v) for v in await service.versions(session, rule.id)]


def planned_out(item: PlannedAction) -> PlannedActionOut:
    action = {k: v for k, v in item.action.items() if k != "secret"}
    return PlannedActionOut(
        rule_id=item.rule_id,
        version_id=item.version_id,
        event=item.event.as_dict(),
        action_index=item.action_index,
        action=action,
        outcome="run" if item.outcome == "run" else "blocked",
        reason=item.reason,
    )


@router.post("/rules/{rule_id}/dry-run", response_model=DryRunOut, responses=NOT_FOUND)
async def dry_run(
    rule_id: RecordId,
    session: SessionDep,
    settings: SettingsDep,
    staff: AdminDep,
    days: Annotated[int, Query(ge=1, le=90)] = 7,
    version_id: VersionId = None,
) -> DryRunOut:
    """Replay the last `days` days of logged events through this version (default: the newest) and say
    what it would have done. Nothing is changed but the version's dry-run record, which enabling needs."""
    rule = await _rule(session, rule_id)
    version = await _version(session, rule, version_id)
    total, matched, planned = await service.dry_run(
        session, rule, version, days, limits_from(settings), _actor(staff)
    )
    await session.commit()
    out = [planned_out(item) for item in planned]
    return DryRunOut(version_id=version.id, days=days, events=total, matched_events=matched, planned=out)


async def _version(session: SessionDep, rule: Rule, version_id: int | None) -> service.RuleVersion:
    try:
        return await service.version_of(session, rule, version_id)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post("/rules/{rule_id}/enable", response_model=RuleOut, responses=NOT_FOUND | CONFLICT)
async def enable_rule(
    rule_id: RecordId, request: Request, session: SessionDep, staff: AdminDep, version_id: VersionId = None
) -> RuleOut:
    """Run this version (default: the newest) from now on; it must have been dry-run."""
    rule = await _rule(session, rule_id)
    version = await _version(session, rule, version_id)
    try:
        await service.enable(session, rule, version, _actor(staff))
    except service.RuleConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    await session.commit()
    engine(request).rules_changed()
    return await _out(session, rule)


@router.post("/rules/{rule_id}/disable", response_model=RuleOut, responses=NOT_FOUND)
async def disable_rule(rule_id: RecordId, request: Request, session: SessionDep, staff: AdminDep) -> RuleOut:
    rule = await _rule(session, rule_id)
    service.disable(session, rule, _actor(staff))
    await session.commit()
    engine(request).rules_changed()
    return await _out(session, rule)


@router.post("/rules/{rule_id}/rollback", response_model=RuleOut, responses=NOT_FOUND | CONFLICT)
async def rollback_rule(rule_id: RecordId, request: Request, session: SessionDep, staff: AdminDep) -> RuleOut:
    """The version before the active one becomes active again, at once."""
    rule = await _rule(session, rule_id)
    try:
        await service.rollback(session, rule, _actor(staff))
    except service.RuleConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    await session.commit()
    engine(request).rules_changed()
    return await _out(session, rule)


# ------------------------------------------------------------------------------------ exception queue


@router.get("/exceptions", response_model=list[ExceptionOut])
async def list_exceptions(
    session: SessionDep,
    staff: SupervisorDep,
    state: Literal["open", "done", "dismissed"] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ExceptionOut]:
    """Blocked and failed actions, newest first (open ones by default)."""
    items = await service.exceptions(session, state, limit)
    return [ExceptionOut.model_validate(item) for item in items]


async def _exception(session: SessionDep, exception_id: int) -> AutomationException:
    item = await session.get(AutomationException, exception_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no automation exception {exception_id}")
    if item.state != "open":
        raise HTTPException(status.HTTP_409_CONFLICT, f"exception {exception_id} is already {item.state}")
    return item


@router.post("/exceptions/{exception_id}/retry", response_model=ExceptionOut, responses=NOT_FOUND | CONFLICT)
async def retry_exception(
    exception_id: RecordId, request: Request, session: SessionDep, staff: SupervisorDep
) -> ExceptionOut:
    """Carry out the action now, as the supervisor decided (the guardrails that blocked it are not asked
    again). Done, it leaves the queue; failing again, it stays with the new reason."""
    item = await _exception(session, exception_id)
    stored = dict(item.event)
    context = stored.pop("context", {})
    event = AutomationEvent(**{**stored, "at": datetime.fromisoformat(stored["at"])})
    item.attempts += 1
    try:
        await engine(request).perform(item.rule_id, item.version_id, dict(item.action), event, context)
    except Exception as exc:  # noqa: BLE001 - the failure is the answer: it goes back on the item
        item.reason = f"retry by {_actor(staff)} failed: {type(exc).__name__}: {exc}"[:2000]
    else:
        service.close_exception(session, item, "done", _actor(staff))
    await session.commit()
    return ExceptionOut.model_validate(item)


@router.post(
    "/exceptions/{exception_id}/dismiss", response_model=ExceptionOut, responses=NOT_FOUND | CONFLICT
)
async def dismiss_exception(
    exception_id: RecordId, session: SessionDep, staff: SupervisorDep
) -> ExceptionOut:
    item = await _exception(session, exception_id)
    service.close_exception(session, item, "dismissed", _actor(staff))
    await session.commit()
    return ExceptionOut.model_validate(item)


@router.get("/tags", response_model=list[TagOut])
async def list_tags(
    session: SessionDep, staff: StaffDep, conversation_id: Annotated[Text, Query(min_length=1, max_length=64)]
) -> list[TagOut]:
    """Tags rules added to a conversation."""
    query = (
        select(ConversationTag)
        .where(ConversationTag.conversation_id == conversation_id)
        .order_by(ConversationTag.tag)
    )
    return [TagOut.model_validate(tag) for tag in (await session.execute(query)).scalars()]
