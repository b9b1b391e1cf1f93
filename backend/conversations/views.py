"""HTTP routes for conversations: the widget's session and message API, and staff read access."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from backend.auth.dependencies import (
    CONVERSATION_ERASED,
    current_staff,
    widget_conversation,
    widget_token_conversation,
)
from backend.auth.policy import public
from backend.auth.tokens import issue_widget_token, verify_customer_hash
from backend.conversations import sentiment, service
from backend.conversations.dependencies import HubDep
from backend.conversations.hub import ConversationErased, ConversationNotFound
from backend.conversations.schemas import (
    ConversationDetailOut,
    ConversationOut,
    MessageIn,
    MessageOut,
    SentimentTrajectoryOut,
    TurnOut,
)
from backend.core.database import utcnow
from backend.core.dependencies import SessionDep, SettingsDep
from backend.core.errors import error_response
from backend.core.params import MAX_DB_INTEGER, Offset
from backend.core.ratelimit import RATE_LIMITED, RateLimiterDep, client_ip, enforce
from backend.core.text import Text
from backend.customers import service as customers
from backend.lifecycle.conversations import open_conversation

widget_router = APIRouter(prefix="/api/v1/widget", tags=["widget"])
staff_router = APIRouter(
    prefix="/api/v1/conversations", tags=["conversations"], dependencies=[Depends(current_staff)]
)

WidgetConversation = Annotated[str, Depends(widget_conversation)]


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_email: EmailStr | None = Field(
        default=None,
        description="Set by the host site when its shopper is logged in; links the customer record.",
    )
    customer_hash: Text | None = Field(
        default=None,
        max_length=128,
        description="HMAC-SHA256 of the lower-cased email with IDENTITY_SECRET, from the host site's server.",
    )


class SessionOut(BaseModel):
    conversation_id: str
    token: str
    expires_at: str


@widget_router.post(
    "/sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionOut,
    responses={**RATE_LIMITED, **error_response(403, "customer_hash does not verify customer_email.")},
)
@public
async def start_session(
    body: SessionIn,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    request: Request,
) -> SessionOut:
    """Open a new conversation for a widget and return the token bound to it."""
    await enforce(limiter, ("sessions_per_ip", client_ip(request)))
    customer = None
    if body.customer_email:
        claimed = body.customer_hash or ""
        if not verify_customer_hash(body.customer_email, claimed, settings.identity_secret):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "customer_hash does not verify this email")
        customer = await customers.get_by_email(session, body.customer_email)
    conversation = await open_conversation(session, customer.id if customer else None)
    token = issue_widget_token(conversation.id, settings.secret_key, settings.widget_token_ttl_s)
    expires = utcnow() + timedelta(seconds=settings.widget_token_ttl_s)
    return SessionOut(conversation_id=conversation.id, token=token, expires_at=expires.isoformat())


@widget_router.get("/conversations/{conversation_id}/messages", response_model=list[MessageOut])
async def widget_history(
    conversation_id: WidgetConversation,
    session: SessionDep,
    after_id: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
) -> list[MessageOut]:
    """The conversation so far, for a widget that reloads or reconnects."""
    rows = await service.list_messages(session, conversation_id, after_id)
    return [MessageOut.model_validate(row) for row in rows]


@widget_router.post(
    "/conversations/{conversation_id}/messages", response_model=TurnOut, responses=RATE_LIMITED
)
async def widget_send(
    conversation_id: Annotated[str, Depends(widget_token_conversation)],
    body: MessageIn,
    hub: HubDep,
    limiter: RateLimiterDep,
    request: Request,
) -> TurnOut:
    """Send a customer message; it is stored before the bot is asked, and the bot's replies are returned."""
    await enforce(
        limiter,
        ("messages_per_ip", client_ip(request)),
        ("messages_per_conversation", conversation_id),
    )
    try:
        turn = await hub.customer_message(conversation_id, body.text, body.client_message_id)
    except ConversationNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "conversation not found") from exc
    except ConversationErased as exc:
        raise HTTPException(status.HTTP_410_GONE, CONVERSATION_ERASED) from exc
    return TurnOut(
        message=MessageOut.model_validate(turn.message),
        replies=[MessageOut.model_validate(r) for r in turn.replies],
        duplicate=turn.duplicate,
    )


@staff_router.get("", response_model=list[ConversationOut])
async def list_conversations(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> list[ConversationOut]:
    rows = await service.list_conversations(session, limit, offset)
    return [ConversationOut.model_validate(row) for row in rows]


@staff_router.get("/{conversation_id}", response_model=ConversationDetailOut)
async def get_conversation(conversation_id: Text, session: SessionDep) -> ConversationDetailOut:
    conversation = await service.get_conversation_with_messages(session, conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "conversation not found")
    detail = ConversationDetailOut.model_validate(conversation)
    trend = SentimentTrajectoryOut.model_validate(sentiment.trajectory(conversation.messages))
    return detail.model_copy(update={"sentiment": trend})
