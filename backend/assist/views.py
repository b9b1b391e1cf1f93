"""Routes of agent assist (/api/assist): the brief, suggestions, similar cases, macros and knowledge gaps.

Case routes answer for the cases the signed-in staff member may see (else 404, as the case routes do).
"""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.assist import brief as briefs
from backend.assist import service
from backend.assist.index import AssistIndex
from backend.assist.schemas import (
    BriefOut,
    OutcomeIn,
    OutcomeOut,
    SimilarCaseOut,
    SuggestionOut,
    SuggestionsOut,
)
from backend.auth.dependencies import StaffDep
from backend.cases import service as cases
from backend.cases.models import Case
from backend.conversations.models import Message
from backend.core.dependencies import SessionDep
from backend.core.params import RecordId
from backend.decisions.models import Decision

router = APIRouter(prefix="/api/assist", tags=["agent assist"])
HowMany = Annotated[int, Query(ge=1, le=10, description="How many to return.")]


def assist_index(request: Request) -> AssistIndex:
    return request.app.state.assist.index


async def visible_case(session: AsyncSession, case_id: int, agent: Agent) -> Case:
    case = await session.get(Case, case_id)
    if case is None or not await cases.can_see(session, agent, case):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "case not found")
    return case


@router.get("/cases/{case_id}/brief", response_model=BriefOut)
async def brief(case_id: RecordId, session: SessionDep, agent: StaffDep) -> BriefOut:
    """What the customer wants, what the bot answered and fetched, sentiment, why it was handed over; each
    statement names the message it comes from."""
    built = await briefs.build(session, await visible_case(session, case_id, agent))
    return BriefOut.model_validate(asdict(built))


@router.get("/cases/{case_id}/suggestions", response_model=SuggestionsOut)
async def suggestions(
    case_id: RecordId, session: SessionDep, agent: StaffDep, request: Request, k: HowMany = 5
) -> SuggestionsOut:
    """Replies for the customer's latest message, best first: knowledge passages and agent replies from
    similar resolved conversations (PII-redacted), each with its source. The list shown is logged."""
    case = await visible_case(session, case_id, agent)
    question = await service.last_question(session, case)
    if question is None or not question.text.strip():
        return SuggestionsOut(question_message_id=None, shown_decision_id=None, suggestions=[])
    found = await service.suggestions(
        session, request.app.state.kb, assist_index(request), case, question.text, k
    )
    shown = service.record_shown(session, case, agent.id, found, question.id)
    await session.commit()
    return SuggestionsOut(
        question_message_id=question.id,
        shown_decision_id=shown.id,
        suggestions=[SuggestionOut.model_validate(asdict(s)) for s in found],
    )


@router.post("/cases/{case_id}/suggestions/outcome", response_model=OutcomeOut)
async def suggestion_outcome(
    case_id: RecordId, body: OutcomeIn, session: SessionDep, agent: StaffDep
) -> OutcomeOut:
    """After a reply: which suggestion it used (sent as is), edited (sent changed) or that it ignored them."""
    case = await visible_case(session, case_id, agent)
    shown = await session.get(Decision, body.shown_decision_id)
    sent = await session.get(Message, body.message_id)
    if shown is None or sent is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such suggestion list or message")
    try:
        row = await service.record_outcome(session, case, shown, sent, body.used, body.suggestion_text)
    except service.OutcomeRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    await session.commit()
    return OutcomeOut(decision_id=row.id, action=row.action)


@router.get("/cases/{case_id}/similar", response_model=list[SimilarCaseOut])
async def similar(
    case_id: RecordId, session: SessionDep, agent: StaffDep, request: Request, k: HowMany = 5
) -> list[SimilarCaseOut]:
    """Resolved cases of this customer, then other customers' cases most like this one, with how each
    ended (disposition)."""
    case = await visible_case(session, case_id, agent)
    question = await service.last_question(session, case)
    text = question.text if question is not None and question.text.strip() else case.reason
    found = await service.similar_cases(assist_index(request), case, text, k)
    return [SimilarCaseOut.model_validate(asdict(c)) for c in found]
