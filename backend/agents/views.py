"""Routes for agents: the team list, and each agent's own availability."""

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from backend.agents import service
from backend.agents.schemas import AgentOut
from backend.auth.dependencies import StaffDep, current_staff
from backend.core.dependencies import SessionDep

router = APIRouter(prefix="/api/v1/agents", tags=["agents"], dependencies=[Depends(current_staff)])


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["online", "away", "offline"]


@router.get("", response_model=list[AgentOut])
async def list_agents(session: SessionDep) -> list[AgentOut]:
    return [AgentOut.model_validate(a) for a in await service.list_agents(session)]


@router.put("/me/status", response_model=AgentOut)
async def set_my_status(body: StatusIn, session: SessionDep, agent: StaffDep, request: Request) -> AgentOut:
    """Online agents receive cases; going offline sends your open cases back to the queue."""
    await service.set_status(session, agent, body.status)
    request.app.state.dispatcher.poke()
    return AgentOut.model_validate(agent)
