"""The service API (/api/v1/service): the action server's only way into the backend, in one router.

Every route here is for the action server (X-Service-Token, audience "service"); the domain logic stays in
its own folder (cases, customers, kb, risk), so this module only translates between HTTP and it. What each
route takes and returns is the contract in contract/service_api.py, which the action server reads with the
same field names; tests/service_api/test_contract.py checks these pydantic models against it.
"""

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.dependencies import require_service
from backend.cases.schemas import HandoffIn, HandoffOut
from backend.conversations import service as conversations
from backend.conversations.models import Conversation
from backend.core.config import Settings
from backend.core.dependencies import SessionDep, SettingsDep
from backend.core.errors import error_response, found_or_404
from backend.core.text import Text
from backend.customers import guest
from backend.customers import service as customers
from backend.customers.models import Customer, Order
from backend.customers.schemas import OrderOut, RecentOrdersOut
from backend.decisions import service as decisions
from backend.experiments import retention
from backend.handoff.features import TurnView
from backend.kb.schemas import SearchOut
from backend.kb.views import INDEX_DOWN, K, Query_, Runtime, search_published
from backend.leads import service as leads
from backend.leads.schemas import LeadCaptureIn, LeadCaptureOut
from backend.lifecycle.handoff import decision_with, hand_over
from backend.risk.schemas import RetentionOfferOut
from backend.risk.views import NO_MODEL
from backend.service_api.schemas import PersonOfferIn, PersonOfferOut
from contract.embedding import as_bytes
from contract.service_api import (
    HANDOFF_MESSAGE,
    MAX_HANDOFF_REASON_CHARS,
    ORDER_EMAIL_HEADER,
    ORDER_EMAIL_NEEDED,
    ORDER_LOOKUPS_REFUSED,
    SALES_HANDOFF_MESSAGE,
    Withheld,
)

# The service dependency sits on each route rather than on the router, as it did on the routes' old
# routers, so each operation's dependencies (and with them its OpenAPI security and audience) are unchanged.
Service = Depends(require_service)
router = APIRouter(prefix="/api/v1/service", tags=["service"])
RECENT_ORDERS_MAX = 10


@router.post("/conversations/{conversation_id}/handoff", response_model=HandoffOut)
async def handoff(
    conversation_id: Text,
    body: HandoffIn,
    session: SessionDep,
    request: Request,
    actor: Annotated[str, Service],
) -> HandoffOut:
    """The bot hands the conversation to humans; a case is queued for routing."""
    conversation = await conversations.get_conversation(session, conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "conversation not found")
    state = request.app.state
    case = await hand_over(session, conversation, body.reason, actor, state.settings, state.notifier)
    request.app.state.dispatcher.poke()
    return HandoffOut(case_id=case.id, message=HANDOFF_MESSAGE)


@router.post(
    "/conversations/{conversation_id}/person-offer", response_model=PersonOfferOut, dependencies=[Service]
)
async def person_offer(
    conversation_id: Text, body: PersonOfferIn, session: SessionDep, request: Request
) -> PersonOfferOut:
    """The bot is about to offer the customer a person. One of the two owns the turn: if the hand-off policy
    would hand this turn over (it decides after every turn), the conversation is handed over now and the bot
    says so instead of asking; else nothing happens and the bot asks. The policy's decision is logged after
    the turn by the hub, as every turn's is; the case is opened in the policy's name."""
    conversation = await conversations.get_conversation(session, conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "conversation not found")
    state = request.app.state
    embedding = as_bytes(body.embedding)
    turn = TurnView(body.intent, body.sentiment_label, body.sentiment_score, body.text, embedding)
    decision = await decision_with(session, conversation, turn, state.settings, state.handoff_policy)
    if decision is None or not decision.handoff:
        return PersonOfferOut(handed_over=False, case_id=None, message=None)
    why = "; ".join(decision.reasons[:3]) or "the hand-off policy"
    reason = f"{why}. {body.reason}"[:MAX_HANDOFF_REASON_CHARS]
    policy = "system:handoff-policy"  # the policy decided, as the hub's hand-off after a turn says
    case = await hand_over(session, conversation, reason, policy, state.settings, state.notifier)
    state.dispatcher.poke()
    # A full queue's follow-up case has told the customer already (backend/lifecycle/handoff.py).
    message = None if case.status == "follow_up" else HANDOFF_MESSAGE
    return PersonOfferOut(handed_over=True, case_id=case.id, message=message)


GUEST_ANSWERS = {
    **error_response(403, f"{ORDER_EMAIL_NEEDED} (anonymous visitor, no {ORDER_EMAIL_HEADER} header)."),
    **error_response(429, f"{ORDER_LOOKUPS_REFUSED} (anonymous visitor)."),
}
OrderEmail = Annotated[
    Text | None,
    Header(
        alias=ORDER_EMAIL_HEADER,
        description="The e-mail address an anonymous visitor gave for the order; a header, so that no access "
        "log keeps it. Ignored for a signed-in shopper and for calls without conversation_id.",
    ),
]


@router.get("/orders/{order_id}", response_model=OrderOut, responses=GUEST_ANSWERS, dependencies=[Service])
async def lookup_order(
    order_id: Text,
    session: SessionDep,
    settings: SettingsDep,
    conversation_id: Annotated[Text | None, Query()] = None,
    order_email: OrderEmail = None,
) -> OrderOut:
    """Order status for the bot. Accepts 'ORD-100234', 'ord100234' or '100234'. Asked for a conversation
    (`conversation_id`), it tells only what that conversation may know: a signed-in shopper typing someone
    else's number hears of no order, not even that it exists; an anonymous visitor must give the e-mail
    address the order was placed with (backend/customers/guest.py)."""
    number = customers.normalize_order_id(order_id)
    if number is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "order ids look like ORD-123456")
    conversation = await _conversation(session, conversation_id)
    if conversation is not None and conversation.customer_id is None:
        max_wrong = settings.guest_order_wrong_emails
        found = await guest.guest_order(session, conversation.id, number, order_email, max_wrong)
        await session.commit()  # a wrong e-mail counts even though the answer is an error
        return _guest_answer(found, number)
    order = await customers.get_order(session, number)
    if order is None or (conversation is not None and conversation.customer_id != order.customer_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no order {number}")
    return customers.order_out(order)


async def _conversation(session: AsyncSession, conversation_id: str | None) -> Conversation | None:
    """The conversation the look-up is for; None for an unscoped call (the service's own, not a visitor's)."""
    if conversation_id is None:
        return None
    found = await conversations.get_conversation(session, conversation_id)
    return found_or_404(found, "conversation not found")


def _guest_answer(found: Order | Withheld | None, number: str) -> OrderOut:
    if isinstance(found, Order):
        return customers.order_out(found)
    code, detail = {
        Withheld.EMAIL_NEEDED: (status.HTTP_403_FORBIDDEN, ORDER_EMAIL_NEEDED),
        Withheld.REFUSED: (status.HTTP_429_TOO_MANY_REQUESTS, ORDER_LOOKUPS_REFUSED),
        None: (status.HTTP_404_NOT_FOUND, f"no order {number}"),  # a wrong e-mail: as a missing order's
    }[found]
    raise HTTPException(code, detail)


@router.get(
    "/conversations/{conversation_id}/orders", response_model=RecentOrdersOut, dependencies=[Service]
)
async def recent_orders(
    conversation_id: Text,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=RECENT_ORDERS_MAX)] = 3,
) -> RecentOrdersOut:
    """The latest orders of the conversation's customer (a signed-in shopper), newest first, for the bot to
    offer when the customer asks about an order without its number; none for an anonymous visitor."""
    conversation = await conversations.get_conversation(session, conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "conversation not found")
    if conversation.customer_id is None:
        return RecentOrdersOut(orders=[])
    return RecentOrdersOut(orders=await customers.recent_orders(session, conversation.customer_id, limit))


ConversationQuery = Annotated[
    Text | None,
    Query(max_length=64, description="The conversation the bot answers in, so its decision is logged there."),
]


@router.get("/kb/search", response_model=SearchOut, responses=INDEX_DOWN, dependencies=[Service])
async def service_search(
    q: Query_,
    session: SessionDep,
    kb: Runtime,
    settings: SettingsDep,
    k: K = 5,
    conversation_id: ConversationQuery = None,
) -> SearchOut:
    """The same search for the action server (X-Service-Token). The bot answers or says it is not sure on
    `answerable`: that decision is logged, in the conversation when it is given and known."""
    started = time.perf_counter()
    found = await search_published(q, k, session, kb)
    latency_ms = (time.perf_counter() - started) * 1000
    conversation = await conversations.get_conversation(session, conversation_id) if conversation_id else None
    top = found.results[0] if found.results else None
    decisions.record(
        session,
        "kb_answer",
        action="answer" if found.answerable else "not_sure",
        version=kb_version(settings),
        inputs={
            "query_chars": len(found.query),
            "k": k,
            "hits": [{"slug": h.slug, "confidence": round(h.confidence, 4)} for h in found.results],
        },
        scores={"confidence": top.confidence} if top else {},
        score=top.confidence if top else None,
        threshold=found.threshold,
        reasons=[f"top article {top.slug}"] if top else ["no published article matched"],
        latency_ms=latency_ms,
        conversation_id=conversation.id if conversation else None,
        customer_id=conversation.customer_id if conversation else None,
    )
    await session.commit()
    return found


def kb_version(settings: Settings) -> str:
    """What decides a knowledge answer: the encoder and the confidence calibration (with any threshold)."""
    encoder = settings.kb_encoder_dir.name if settings.kb_encoder_dir else "all-MiniLM-L6-v2"
    calibration = settings.kb_calibration_path.name if settings.kb_calibration_path else "default calibration"
    fixed = settings.kb_answer_threshold
    return (f"{encoder} + {calibration}" + (f", threshold {fixed:g}" if fixed is not None else ""))[:128]


@router.post(
    "/conversations/{conversation_id}/retention-offer",
    response_model=RetentionOfferOut,
    responses=NO_MODEL,
    dependencies=[Service],
)
async def retention_offer(
    conversation_id: Text, session: SessionDep, settings: SettingsDep
) -> RetentionOfferOut:
    """For the bot, when a customer asks to cancel: an offer if they consent and are under the contact cap,
    randomised while the retention experiment runs, else chosen by rule if their churn risk is high
    (backend/experiments/retention.py). One decision row per call."""
    conversation = await conversations.get_conversation(session, conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "conversation not found")
    customer = await session.get(Customer, conversation.customer_id) if conversation.customer_id else None
    if customer is None:  # an anonymous visitor: nothing known to base an offer on
        return RetentionOfferOut(offer=None, churn_risk=None, threshold=settings.churn_high_threshold)
    decided = await retention.decide(session, conversation, customer, settings)
    await session.commit()
    return RetentionOfferOut(offer=decided.offer, churn_risk=decided.churn_risk, threshold=decided.threshold)


@router.post("/conversations/{conversation_id}/lead", response_model=LeadCaptureOut)
async def capture_lead(
    conversation_id: Text,
    body: LeadCaptureIn,
    session: SessionDep,
    request: Request,
    actor: Annotated[str, Service],
) -> LeadCaptureOut:
    """The customer showed sales interest: the conversation's lead (made once), its calibrated conversion
    score (a logged `lead` decision), and at or above LEAD_ROUTE_THRESHOLD a hand-over to the sales team.
    A plan change (`change_plan`) is a lead only when it is an upgrade, and is never handed over."""
    conversation = await conversations.get_conversation(session, conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "conversation not found")
    state = request.app.state
    captured = await leads.capture(session, conversation, body.intent, state.settings, body.plan)
    if captured is None:  # a plan change that is no upgrade: no lead, nothing written
        return LeadCaptureOut(lead_id=None, created=False, score=None, routed=False, message=None)
    lead = captured.lead
    if captured.route:
        reason = f"sales lead {lead.id}: conversion score {lead.score:.2f}"
        team = leads.SALES_TEAM
        await hand_over(session, conversation, reason, actor, state.settings, state.notifier, team)
        state.dispatcher.poke()
    else:
        await session.commit()
    return LeadCaptureOut(
        lead_id=lead.id, created=captured.created, score=lead.score, routed=captured.route,
        message=SALES_HANDOFF_MESSAGE if captured.route else None,
    )  # fmt: skip
