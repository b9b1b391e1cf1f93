"""FastAPI dependencies that say who may call a route: staff by role, widgets by conversation, services."""

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.agents.models import Agent
from backend.auth.policy import grants
from backend.auth.tokens import InvalidToken, agent_of_staff_token, conversation_of_widget_token
from backend.conversations.models import Conversation
from backend.core.dependencies import SessionDep, SettingsDep
from backend.core.text import Text

bearer = HTTPBearer(auto_error=False)
# A security scheme rather than a plain header, so the OpenAPI schema says which routes want it.
service_key = APIKeyHeader(name="X-Service-Token", auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

# Each role may do everything the roles before it may.
ROLE_RANK = {"agent": 0, "supervisor": 1, "admin": 2}


@grants("service")
async def require_service(
    settings: SettingsDep, x_service_token: Annotated[str | None, Depends(service_key)] = None
) -> str:
    """Internal callers (the action server) present the shared service token."""
    # Bytes, not str: compare_digest refuses non-ASCII strings (a header may carry any latin-1 text).
    if x_service_token is None or not hmac.compare_digest(
        x_service_token.encode(), settings.service_token.encode()
    ):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid X-Service-Token header is required")
    return "service:action-server"


def _token_bound_to(conversation_id: str, secret_key: str, credentials: Credentials) -> str:
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a widget session token is required")
    try:
        bound = conversation_of_widget_token(credentials.credentials, secret_key)
    except InvalidToken as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid widget token: {exc}") from exc
    if bound != conversation_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this token belongs to another conversation")
    return conversation_id


@grants("widget")
async def widget_conversation(
    conversation_id: Text, settings: SettingsDep, credentials: Credentials, request: Request
) -> str:
    """A widget may only touch the conversation its token was issued for, and not once it was erased."""
    _token_bound_to(conversation_id, settings.secret_key, credentials)
    if await conversation_erased(request.app.state.sessions, conversation_id):
        raise HTTPException(status.HTTP_410_GONE, CONVERSATION_ERASED)
    return conversation_id


@grants("widget")
async def widget_token_conversation(conversation_id: Text, credentials: Credentials, request: Request) -> str:
    """`widget_conversation` less the erasure check, for the message route: the hub reads the conversation's
    row anyway and refuses an erased one from it (ConversationErased), so a message opens no session of its
    own for that row. The app's settings are read from its state, not through SettingsDep: a dependency
    that is a plain function runs in the thread pool, one thread hop more per message."""
    return _token_bound_to(conversation_id, request.app.state.settings.secret_key, credentials)


CONVERSATION_ERASED = "this conversation was erased; open a new widget session"


async def conversation_erased(sessions: async_sessionmaker[AsyncSession], conversation_id: str) -> bool:
    """Whether the conversation's transcript was erased (a customer's erasure, or the retention purge).

    Widget tokens are signed, not stored, so an erasure cannot delete them: this mark is the state that
    revokes them, checked here on every other widget request and when a socket opens; a message (over REST
    or an open socket) is refused by the hub from the conversation row it reads under the conversation's
    lock (ConversationErased). Its own short session, so a request does not hold a pooled connection.
    """
    async with sessions() as session:
        query = select(Conversation.transcript_erased_at).where(Conversation.id == conversation_id)
        return await session.scalar(query) is not None


@grants("agent")
async def current_staff(session: SessionDep, settings: SettingsDep, credentials: Credentials) -> Agent:
    """The signed-in staff member; the account is re-read so a deleted account loses access at once."""
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED, "sign in as staff first", headers={"WWW-Authenticate": "Bearer"}
    )
    if credentials is None:
        raise unauthorized
    try:
        agent_id = agent_of_staff_token(credentials.credentials, settings.secret_key)
    except InvalidToken as exc:
        unauthorized.detail = f"invalid staff token: {exc}"
        raise unauthorized from exc
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise unauthorized
    return agent


def require_role(minimum: str):  # noqa: ANN201 - returns a FastAPI dependency
    @grants(minimum)
    async def check(agent: Annotated[Agent, Depends(current_staff)]) -> Agent:
        if ROLE_RANK.get(agent.role, -1) < ROLE_RANK[minimum]:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {minimum} role")
        return agent

    return check


StaffDep = Annotated[Agent, Depends(current_staff)]
SupervisorDep = Annotated[Agent, Depends(require_role("supervisor"))]
AdminDep = Annotated[Agent, Depends(require_role("admin"))]
