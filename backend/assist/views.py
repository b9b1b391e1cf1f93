"""Routes of agent assist (/api/assist): the brief, suggestions, similar cases, macros and knowledge gaps.

Case routes answer for the cases the signed-in staff member may see (else 404, as the case routes do).
"""

from dataclasses import asdict

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.assist import brief as briefs
from backend.assist.schemas import BriefOut
from backend.auth.dependencies import StaffDep
from backend.cases import service as cases
from backend.cases.models import Case
from backend.core.dependencies import SessionDep
from backend.core.params import RecordId

router = APIRouter(prefix="/api/assist", tags=["agent assist"])


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
