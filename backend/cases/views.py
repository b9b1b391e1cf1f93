"""Routes for cases: the agent inbox's actions and the widget's rating (the action server's handoff is in
backend/service_api/views.py)."""

from collections.abc import Awaitable
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.audit import service as audit
from backend.auth.dependencies import StaffDep, widget_conversation
from backend.cases import csat, export, queue, service
from backend.cases.models import Case
from backend.cases.schemas import (
    AgentReplyIn,
    CaseDetailOut,
    CaseOut,
    ConversationExportOut,
    CsatIn,
    CsatQuestionOut,
    QueuePlaceOut,
    ResolveIn,
    TransferIn,
)
from backend.conversations.schemas import MessageOut
from backend.core.database import utcnow
from backend.core.dependencies import SessionDep
from backend.core.errors import error_response
from backend.core.params import Offset, RecordId
from backend.core.text import Text
from backend.lifecycle import cases as lifecycle

staff_router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
widget_router = APIRouter(prefix="/api/v1/widget", tags=["widget"])
# Staff routes about a whole conversation that need its cases (conversations/ never imports cases/).
conversation_router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])
# The printable export runs no script, so none is allowed: a second line of defence behind the escaping.
EXPORT_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}

T = TypeVar("T")
CONFLICT = error_response(409, "The case is not in a state that allows this (the reason is given).")


@staff_router.get("", response_model=list[CaseOut])
async def list_cases(
    session: SessionDep,
    agent: StaffDep,
    status_filter: Annotated[
        Literal["queued", "assigned", "accepted", "resolved", "follow_up"] | None, Query(alias="status")
    ] = None,
    mine: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> list[CaseOut]:
    """Agents see their own and their team's cases; supervisors and admins see all. Most urgent first."""
    rows = await service.list_cases(session, agent, status_filter, mine, limit, offset)
    return [CaseOut.model_validate(row) for row in rows]


async def _visible_case(session: AsyncSession, case_id: int, agent: Agent) -> Case:
    case = await session.get(Case, case_id)
    if case is None or not await service.can_see(session, agent, case):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "case not found")
    return case


@staff_router.get("/{case_id}", response_model=CaseDetailOut)
async def get_case(case_id: RecordId, session: SessionDep, agent: StaffDep) -> CaseDetailOut:
    """The case with its transcript (intent and sentiment per message) and the customer panel."""
    return await service.case_detail(session, await _visible_case(session, case_id, agent))


@staff_router.post("/{case_id}/accept", response_model=CaseOut, responses=CONFLICT)
async def accept(case_id: RecordId, session: SessionDep, agent: StaffDep) -> CaseOut:
    case = await _visible_case(session, case_id, agent)
    return CaseOut.model_validate(await _act(lifecycle.accept(session, case, agent)))


@staff_router.post(
    "/{case_id}/messages", response_model=MessageOut, status_code=status.HTTP_201_CREATED, responses=CONFLICT
)
async def reply(
    case_id: RecordId, body: AgentReplyIn, session: SessionDep, agent: StaffDep, request: Request
) -> MessageOut:
    """Reply to the customer; the message appears in their widget at once."""
    case = await _visible_case(session, case_id, agent)
    message = await _act(lifecycle.reply(session, case, agent, body.text.strip(), request.app.state.notifier))
    return MessageOut.model_validate(message)


@staff_router.post("/{case_id}/resolve", response_model=MessageOut, responses=CONFLICT)
async def resolve(
    case_id: RecordId, body: ResolveIn, session: SessionDep, agent: StaffDep, request: Request
) -> MessageOut:
    """Close the case; the bot takes the conversation back and the customer is asked for a rating."""
    case = await _visible_case(session, case_id, agent)
    notifier = request.app.state.notifier
    question = await _act(lifecycle.resolve(session, case, agent, body.disposition, notifier))
    request.app.state.dispatcher.poke()
    return MessageOut.model_validate(question)


@staff_router.post("/{case_id}/handback", response_model=MessageOut, responses=CONFLICT)
async def hand_back(case_id: RecordId, session: SessionDep, agent: StaffDep, request: Request) -> MessageOut:
    """Give the conversation back to the bot without asking for a rating."""
    case = await _visible_case(session, case_id, agent)
    note = await _act(lifecycle.hand_back(session, case, agent, request.app.state.notifier))
    request.app.state.dispatcher.poke()
    return MessageOut.model_validate(note)


@staff_router.post("/{case_id}/transfer", response_model=CaseOut, responses=CONFLICT)
async def transfer(
    case_id: RecordId, body: TransferIn, session: SessionDep, agent: StaffDep, request: Request
) -> CaseOut:
    """Send the case back to the queue of another skill."""
    case = await _visible_case(session, case_id, agent)
    moved = await _act(lifecycle.transfer(session, case, agent, body.skill))
    request.app.state.dispatcher.poke()
    return CaseOut.model_validate(moved)


@widget_router.get("/conversations/{conversation_id}/csat", response_model=list[CsatQuestionOut])
async def survey(
    conversation_id: Annotated[str, Depends(widget_conversation)], request: Request
) -> list[CsatQuestionOut]:
    """The questions the widget asks after a resolution: the 1-5 satisfaction score first, then
    CSAT_EXTRA_QUESTIONS."""
    return [CsatQuestionOut.model_validate(q) for q in csat.questions(request.app.state.settings)]


@widget_router.post(
    "/conversations/{conversation_id}/csat",
    response_model=CaseOut,
    responses=CONFLICT,
)
async def rate(
    conversation_id: Annotated[str, Depends(widget_conversation)],
    body: CsatIn,
    session: SessionDep,
    request: Request,
) -> CaseOut:
    """The customer rates the conversation's last resolved case and answers the other questions, once."""
    settings = request.app.state.settings
    try:
        answers = csat.check(body.answers, settings)
    except csat.CsatInvalid as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    rows = await csat.to_store(session, conversation_id, answers, settings)
    rated = lifecycle.record_csat(session, conversation_id, body.score, rows)
    return CaseOut.model_validate(await _act(rated))


@widget_router.post(
    "/conversations/{conversation_id}/handback", response_model=MessageOut, responses=CONFLICT
)
async def bot_instead(
    conversation_id: Annotated[str, Depends(widget_conversation)], session: SessionDep, request: Request
) -> MessageOut:
    """While waiting for a person, the customer lets the bot help instead: the waiting case is cancelled
    and the bot answers again (asking for a person later opens a new case through the bot)."""
    note = await _act(lifecycle.customer_chose_bot(session, conversation_id, request.app.state.notifier))
    request.app.state.dispatcher.poke()  # the others behind them in the queue move up now
    return MessageOut.model_validate(note)


@widget_router.get("/conversations/{conversation_id}/queue", response_model=QueuePlaceOut)
async def queue_place(
    conversation_id: Annotated[str, Depends(widget_conversation)], session: SessionDep, request: Request
) -> QueuePlaceOut:
    """The customer's place in the queue and the estimated wait, as the widget shows it when it opens (the
    socket's `queue` frames keep it current)."""
    place = await queue.place_of(session, request.app.state.settings, conversation_id, utcnow())
    if place is None:
        return QueuePlaceOut(team=None, position=None, waiting=None, estimate_minutes=None)
    return QueuePlaceOut(
        team=place.team,
        position=place.position,
        waiting=place.waiting,
        estimate_minutes=place.estimate_minutes,
    )


@conversation_router.get(
    "/{conversation_id}/export",
    response_model=ConversationExportOut,
    responses={
        200: {"content": {"text/html": {}}, "description": "JSON, or with format=html a page to print."},
        404: {"description": "No such conversation."},
    },
)
async def export_conversation(
    conversation_id: Text,
    session: SessionDep,
    agent: StaffDep,
    export_format: Annotated[Literal["json", "html"], Query(alias="format")] = "json",
) -> Response | ConversationExportOut:
    """The conversation's transcript (with intent and sentiment), cases and customer, as JSON or as a
    printable page; staff like the conversation routes, and every export is audited."""
    exported = await export.build(session, conversation_id, agent)
    if exported is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "conversation not found")
    actor = f"agent:{agent.id}"
    audit.record(
        session,
        actor,
        "conversation.export",
        "conversation",
        conversation_id,
        after={"format": export_format},
    )
    await session.commit()
    name = f"conversation-{conversation_id}"
    if export_format == "html":
        headers = {**EXPORT_HEADERS, "Content-Disposition": f'inline; filename="{name}.html"'}
        return HTMLResponse(export.render_html(exported), headers=headers)
    body = exported.model_dump_json(indent=2)
    disposition = {"Content-Disposition": f'attachment; filename="{name}.json"'}
    return Response(body, media_type="application/json", headers=disposition)


async def _act(action: Awaitable[T]) -> T:
    try:
        return await action
    except lifecycle.CaseStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
