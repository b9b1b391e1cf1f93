"""Routes of agent assist (/api/assist): the brief, suggestions, similar cases, macros and knowledge gaps.

Case routes answer for the cases the signed-in staff member may see (else 404, as the case routes do).
"""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.assist import brief as briefs
from backend.assist import gaps, macros, search, service
from backend.assist.index import AssistIndex
from backend.assist.models import GapCluster, Macro
from backend.assist.schemas import (
    BriefOut,
    DraftOut,
    FilledOut,
    GapArticleOut,
    GapClusterOut,
    MacroIn,
    MacroOut,
    MacroSendIn,
    OutcomeIn,
    OutcomeOut,
    SearchHitOut,
    SimilarCaseOut,
    SuggestionOut,
    SuggestionsOut,
)
from backend.audit import service as audit
from backend.auth.dependencies import AdminDep, StaffDep, SupervisorDep
from backend.cases import service as cases
from backend.cases.models import Case
from backend.conversations.models import Message
from backend.conversations.schemas import MessageOut
from backend.core.database import utcnow
from backend.core.dependencies import SessionDep
from backend.core.errors import found_or_404
from backend.core.params import RecordId
from backend.core.text import Text
from backend.decisions.models import Decision
from backend.kb import service as kb
from backend.kb.schemas import ArticleIn
from backend.kb.views import article_url
from backend.lifecycle.cases import CaseStateError

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


# ----- macros -----


@router.get("/macros", response_model=list[MacroOut])
async def list_macros(
    session: SessionDep,
    agent: StaffDep,
    q: Annotated[Text | None, Query(max_length=120, description="Words in the name or body.")] = None,
) -> list[MacroOut]:
    """The macros this staff member may use: their team's and everyone's (supervisors: all teams')."""
    return [MacroOut.model_validate(m) for m in await macros.visible(session, agent, (q or "").strip())]


@router.post(
    "/macros",
    response_model=MacroOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "A macro of that name exists for the team."}},
)
async def create_macro(body: MacroIn, session: SessionDep, editor: SupervisorDep) -> MacroOut:
    macro = Macro(**body.model_dump(), created_by=editor.email, created_at=utcnow(), updated_at=utcnow())
    await _unique_name(session, macro.team, macro.name, None)
    session.add(macro)
    await session.flush()
    audit.record(session, editor.email, "assist.macro.create", "macro", macro.id, after=body.model_dump())
    await session.commit()
    return MacroOut.model_validate(macro)


@router.put("/macros/{macro_id}", response_model=MacroOut)
async def update_macro(
    macro_id: RecordId, body: MacroIn, session: SessionDep, editor: SupervisorDep
) -> MacroOut:
    macro = await _macro(session, macro_id)
    await _unique_name(session, body.team, body.name, macro.id)
    before = MacroOut.model_validate(macro).model_dump(mode="json")
    for key, value in body.model_dump().items():
        setattr(macro, key, value)
    macro.updated_at = utcnow()
    audit.record(session, editor.email, "assist.macro.update", "macro", macro.id, before, body.model_dump())
    await session.commit()
    return MacroOut.model_validate(macro)


@router.delete("/macros/{macro_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_macro(macro_id: RecordId, session: SessionDep, editor: SupervisorDep) -> None:
    macro = await _macro(session, macro_id)
    before = MacroOut.model_validate(macro).model_dump(mode="json")
    audit.record(session, editor.email, "assist.macro.delete", "macro", macro.id, before=before)
    await session.delete(macro)
    await session.commit()


@router.post("/cases/{case_id}/macros/{macro_id}/fill", response_model=FilledOut)
async def fill_macro(
    case_id: RecordId, macro_id: RecordId, session: SessionDep, agent: StaffDep, request: Request
) -> FilledOut:
    """The macro filled for this case, to put in the reply box; a variable that cannot be filled is a 422
    naming it."""
    case = await visible_case(session, case_id, agent)
    macro = await _usable(session, macro_id, agent)
    filled = await _fill(session, macro, case, request)
    return FilledOut(
        macro_id=macro.id, text=filled.text, values=filled.values, effects=macros.effects_of(macro)
    )


@router.post("/cases/{case_id}/macros/{macro_id}/send", response_model=MessageOut, status_code=201)
async def send_macro(
    case_id: RecordId,
    macro_id: RecordId,
    body: MacroSendIn,
    session: SessionDep,
    agent: StaffDep,
    request: Request,
) -> MessageOut:
    """Send the macro (as filled, or as the agent edited it) and apply its tags, priority and resolve."""
    case = await visible_case(session, case_id, agent)
    macro = await _usable(session, macro_id, agent)
    text = body.text.strip() if body.text else (await _fill(session, macro, case, request)).text
    notifier = request.app.state.notifier
    try:
        message = await macros.send(session, macro, case, agent, text, notifier)
    except CaseStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    if macro.resolve_disposition:
        request.app.state.dispatcher.poke()
    return MessageOut.model_validate(message)


async def _fill(session: AsyncSession, macro: Macro, case: Case, request: Request) -> macros.Filled:
    try:
        return await macros.fill(session, macro, case, request.app.state.settings)
    except macros.MissingVariable as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


async def _macro(session: AsyncSession, macro_id: int) -> Macro:
    return found_or_404(await session.get(Macro, macro_id), "macro not found")


async def _usable(session: AsyncSession, macro_id: int, agent: Agent) -> Macro:
    macro = await _macro(session, macro_id)
    if agent.role == "agent" and macro.team not in ("all", agent.team):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "macro not found")
    return macro


async def _unique_name(session: AsyncSession, team: str, name: str, own_id: int | None) -> None:
    query = select(Macro.id).where(Macro.team == team, Macro.name == name)
    found = (await session.execute(query)).scalar()
    if found is not None and found != own_id:
        raise HTTPException(status.HTTP_409_CONFLICT, f"team {team} already has a macro named {name!r}")


# ----- knowledge gaps (admins) -----


@router.get("/gaps", response_model=list[GapClusterOut])
async def list_gaps(session: SessionDep, admin: AdminDep) -> list[GapClusterOut]:
    """The latest run's clusters of questions the bot could not answer, largest first; for each made into an
    article, how many questions the bot has answered with it since."""
    clusters = await gaps.latest(session)
    answered = await gaps.answered_since(session, clusters)
    return [
        GapClusterOut.model_validate(c).model_copy(update={"answered_since": answered.get(c.id)})
        for c in clusters
    ]


NOT_A_GAP_ARTICLE = {404: {"description": "No article of that slug was made from a knowledge gap."}}


@router.get("/gaps/articles", response_model=list[GapArticleOut], responses=NOT_A_GAP_ARTICLE)
async def gap_articles(
    session: SessionDep,
    supervisor: SupervisorDep,
    slug: Annotated[
        Text | None, Query(max_length=200, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", description="One article.")
    ] = None,
) -> list[GapArticleOut]:
    """Each article made from a knowledge-gap cluster, with how many customer questions the bot has answered
    with it since it was published (the analytics dashboard's table; supervisors and admins)."""
    found = await gaps.gap_articles(session, slug)
    if slug is not None and not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no article {slug!r} was made from a knowledge gap")
    return [GapArticleOut.model_validate(asdict(a)) for a in found]


@router.post("/gaps/run", response_model=list[GapClusterOut])
async def run_gaps(request: Request, admin: AdminDep) -> list[GapClusterOut]:
    """Run the weekly clustering now (it also runs on its own every ASSIST_GAP_INTERVAL_S)."""
    made = await gaps.run(request.app.state.sessions, request.app.state.settings)
    return [GapClusterOut.model_validate(c) for c in made]


@router.post("/gaps/{cluster_id}/draft", response_model=DraftOut, status_code=status.HTTP_201_CREATED)
async def draft_article(cluster_id: RecordId, session: SessionDep, admin: AdminDep) -> DraftOut:
    """A draft knowledge article prefilled from the cluster's agent replies and questions; it is published
    (and so searchable by the bot) through the normal knowledge-base path."""
    row = found_or_404(await session.get(GapCluster, cluster_id), "no such knowledge-gap cluster")
    if row.article_slug is not None and await kb.get_by_slug(session, row.article_slug) is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"this cluster already has the article {row.article_slug!r}"
        )
    data = ArticleIn(title=gaps.draft_title(row), body=gaps.draft_body(row), tags=["knowledge-gap"])
    article = await kb.create_article(session, data, admin.email)  # commits, with its version and audit
    row.article_slug = article.slug
    await session.commit()
    return DraftOut(
        cluster_id=row.id,
        slug=article.slug,
        title=article.title,
        status=article.status,
        url=article_url(article.slug),
    )


# ----- inbox search -----


@router.get("/search", response_model=list[SearchHitOut])
async def search_conversations(
    session: SessionDep,
    agent: StaffDep,
    q: Annotated[Text, Query(min_length=2, max_length=200, description="Words to find in messages.")],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> list[SearchHitOut]:
    """Cases this staff member may see whose conversation has a message containing `q`, newest first."""
    words = q.strip()
    if len(words) < 2:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "search for at least two characters")
    return [SearchHitOut.model_validate(asdict(h)) for h in await search.search(session, agent, words, limit)]
