"""Routes of the decision log: reading decisions, people's feedback and overrides, the review queue, quality.

Who may call what: staff read and label decisions and override the routing or the priority of a case, with
the inbox's visibility (agents: the decisions about their own and their team's cases; supervisors and
admins: all); the review queue is for supervisors and admins. Every label and override is audited with the
staff member as the actor.
"""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.audit import service as audit
from backend.auth.dependencies import StaffDep, SupervisorDep
from backend.cases import service as cases
from backend.cases.models import Case
from backend.core.database import utcnow
from backend.core.dependencies import SessionDep, SettingsDep
from backend.core.errors import error_response
from backend.core.params import RecordId
from backend.core.text import Text
from backend.decisions import review, service
from backend.decisions.models import Decision
from backend.decisions.schemas import (
    DecisionOut,
    FeedbackIn,
    Kind,
    OverrideIn,
    OverrideOut,
    QualityRowOut,
    ReviewItemOut,
)
from backend.lifecycle import cases as lifecycle
from backend.lifecycle.cases import CaseStateError

router = APIRouter(prefix="/api", tags=["decisions"])
NOT_FOUND = error_response(404, "No such decision (or case).")
CONFLICT = error_response(409, "The case is not in a state that allows this (the reason is given).")
# Days a decision can have been made on; the bounds keep a day's end representable (date.max + 1 day is not).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)
CaseId = Annotated[int | None, Query(ge=0, le=2**63 - 1)]


@router.get(
    "/decisions",
    response_model=list[DecisionOut],
    responses={404: {"description": "The named conversation or case is not one this agent may see."}},
)
async def list_decisions(
    session: SessionDep,
    staff: StaffDep,
    conversation_id: Annotated[Text | None, Query(max_length=64)] = None,
    case_id: CaseId = None,
    kind: Kind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[DecisionOut]:
    """Automated decisions and overrides, newest first, with their evidence, outcome and feedback. Agents
    name a conversation or case of theirs (or their team's); supervisors and admins may list all."""
    if staff.role == "agent":
        if conversation_id is None and case_id is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "name a conversation_id or case_id of your cases"
            )
        if not await _sees(session, staff, conversation_id, case_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such conversation or case among yours")
    where = service.DecisionFilter(conversation_id, case_id, kind)
    return [DecisionOut.model_validate(d) for d in await service.search(session, where, limit)]


@router.get("/decisions/quality", response_model=list[QualityRowOut])
async def decision_quality(
    session: SessionDep, staff: StaffDep, weeks: Annotated[int, Query(ge=1, le=52)] = 8
) -> list[QualityRowOut]:
    """Per week, kind and version: decisions, labelled ones, precision, recall and override rate
    (backend/decisions/review.py defines each)."""
    rows = await review.quality(session, weeks, utcnow())
    return [QualityRowOut.model_validate(row, from_attributes=True) for row in rows]


async def _sees(
    session: AsyncSession, staff: Agent, conversation_id: str | None, case_id: int | None
) -> bool:
    """Whether the staff member sees a case of this conversation (or this case): the inbox's visibility."""
    query = select(Case)
    if case_id is not None:
        query = query.where(Case.id == case_id)
    if conversation_id is not None:
        query = query.where(Case.conversation_id == conversation_id)
    for case in (await session.execute(query)).scalars():
        if await cases.can_see(session, staff, case):
            return True
    return False


async def _decision(session: AsyncSession, decision_id: int, staff: Agent) -> Decision:
    """The decision, if it exists and the staff member sees it (agents: about a case of theirs)."""
    decision = await session.get(Decision, decision_id)
    if decision is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "decision not found")
    if staff.role == "agent":
        about = (decision.conversation_id, decision.case_id)
        if about == (None, None) or not await _sees(session, staff, *about):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "decision not found")
    return decision


def _label(decision: Decision, body: FeedbackIn, staff: Agent, reviewed: bool) -> dict[str, object]:
    try:
        if reviewed:
            return service.mark_reviewed(decision, body.label, body.note, staff.email)
        return service.give_feedback(decision, body.label, body.note, staff.email)
    except service.LabelDoesNotFit as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


@router.post("/decisions/{decision_id}/feedback", response_model=DecisionOut, responses=NOT_FOUND)
async def give_feedback(
    decision_id: RecordId, body: FeedbackIn, session: SessionDep, staff: StaffDep
) -> DecisionOut:
    """One click in the inbox: a hand-off was needed or not, any other decision right or wrong."""
    decision = await _decision(session, decision_id, staff)
    before = _label(decision, body, staff, reviewed=False)
    after = {"label": body.label, "note": body.note, "kind": decision.kind}
    audit.record(session, f"agent:{staff.id}", "decision.feedback", "decision", decision.id, before, after)
    await session.commit()
    return DecisionOut.model_validate(decision)


@router.post(
    "/cases/{case_id}/override",
    response_model=OverrideOut,
    responses={**NOT_FOUND, **CONFLICT},
)
async def override_case(
    case_id: RecordId, body: OverrideIn, session: SessionDep, staff: StaffDep, request: Request
) -> OverrideOut:
    """Change the case's priority or agent by hand; each change is logged as an override decision."""
    case = await session.get(Case, case_id)
    if case is None or not await cases.can_see(session, staff, case):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "case not found")
    to_agent = None
    if body.agent_id is not None:
        to_agent = await session.get(Agent, body.agent_id)
        if to_agent is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent {body.agent_id}")
    notifier = request.app.state.notifier
    try:
        written = await lifecycle.override(
            session, case, staff, body.reason, notifier, priority=body.priority, to_agent=to_agent
        )
    except CaseStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return OverrideOut(
        case_id=case.id,
        priority=case.priority,
        assigned_agent_id=case.assigned_agent_id,
        status=case.status,
        decisions=[DecisionOut.model_validate(d) for d in written],
    )


@router.get("/review-queue", response_model=list[ReviewItemOut])
async def review_queue(
    session: SessionDep,
    supervisor: SupervisorDep,
    settings: SettingsDep,
    day: Annotated[
        date | None, Query(ge=FIRST_DAY, le=LAST_DAY, description="YYYY-MM-DD (UTC); today when left out.")
    ] = None,
) -> list[ReviewItemOut]:
    """The day's stratified sample: every overridden decision, more low-confidence ones, a few others."""
    sample = await review.daily_sample(session, day or utcnow().date(), settings.review_sample_size)
    return [
        ReviewItemOut.model_validate(
            DecisionOut.model_validate(s.decision).model_dump() | {"stratum": s.stratum}
        )
        for s in sample
    ]


@router.post("/review-queue/{decision_id}", response_model=DecisionOut, responses=NOT_FOUND)
async def review_decision(
    decision_id: RecordId, body: FeedbackIn, session: SessionDep, supervisor: SupervisorDep
) -> DecisionOut:
    """A reviewer's verdict: counted as a label like the inbox's, with the reviewer recorded."""
    decision = await _decision(session, decision_id, supervisor)
    before = _label(decision, body, supervisor, reviewed=True)
    after = {"label": body.label, "note": body.note, "kind": decision.kind}
    audit.record(session, f"agent:{supervisor.id}", "decision.review", "decision", decision.id, before, after)
    await session.commit()
    return DecisionOut.model_validate(decision)
