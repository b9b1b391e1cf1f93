"""The service API (/api/v1/service): the action server's only way into the backend, in one router.

Every route here is for the action server (X-Service-Token, audience "service"); the domain logic stays in
its own folder (cases, customers, kb, risk), so this module only translates between HTTP and it. What each
route takes and returns is the contract in contract/service_api.py, which the action server reads with the
same field names; tests/unit/test_contract.py checks these pydantic models against it.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status

from backend.auth.dependencies import SettingsDep, require_service
from backend.cases.schemas import HandoffIn, HandoffOut
from backend.conversations import service as conversations
from backend.core.database import utcnow
from backend.core.dependencies import SessionDep
from backend.core.text import Text
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.customers.schemas import OrderOut
from backend.kb.schemas import SearchOut
from backend.kb.views import INDEX_DOWN, K, Query_, Runtime, search_published
from backend.lifecycle.handoff import hand_over
from backend.risk import service as risk
from backend.risk.schemas import RetentionOfferOut
from backend.risk.views import NO_MODEL
from contract.service_api import HANDOFF_MESSAGE

# The service dependency sits on each route rather than on the router, as it did on the routes' old
# routers, so each operation's dependencies (and with them its OpenAPI security and audience) are unchanged.
Service = Depends(require_service)
router = APIRouter(prefix="/api/v1/service", tags=["service"])


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
    case = await hand_over(session, conversation, body.reason, actor, request.app.state.settings)
    request.app.state.dispatcher.poke()
    return HandoffOut(case_id=case.id, message=HANDOFF_MESSAGE)


@router.get("/orders/{order_id}", response_model=OrderOut, dependencies=[Service])
async def lookup_order(order_id: Text, session: SessionDep) -> OrderOut:
    """Order status for the bot. Accepts 'ORD-100234', 'ord100234' or '100234'."""
    number = customers.normalize_order_id(order_id)
    if number is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "order ids look like ORD-123456")
    order = await customers.get_order(session, number)
    if order is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no order {number}")
    return customers.order_out(order)


@router.get("/kb/search", response_model=SearchOut, responses=INDEX_DOWN, dependencies=[Service])
async def service_search(q: Query_, session: SessionDep, kb: Runtime, k: K = 5) -> SearchOut:
    """The same search for the action server (X-Service-Token)."""
    return await search_published(q, k, session, kb)


@router.post(
    "/conversations/{conversation_id}/retention-offer",
    response_model=RetentionOfferOut,
    responses=NO_MODEL,
    dependencies=[Service],
)
async def retention_offer(
    conversation_id: Text, session: SessionDep, settings: SettingsDep
) -> RetentionOfferOut:
    """For the bot, when a customer asks to cancel: an offer chosen by rule if their churn risk is high."""
    conversation = await conversations.get_conversation(session, conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "conversation not found")
    threshold = settings.churn_high_threshold
    customer = await session.get(Customer, conversation.customer_id) if conversation.customer_id else None
    if customer is None:  # an anonymous visitor: nothing known to base an offer on
        return RetentionOfferOut(offer=None, churn_risk=None, threshold=threshold)
    score = await risk.churn_for_turn(session, conversation, settings, utcnow())
    offer = risk.retention_offer(customer, score, threshold) if score is not None else None
    return RetentionOfferOut(offer=offer, churn_risk=score, threshold=threshold)
