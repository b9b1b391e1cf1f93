"""Shared request-scoped dependencies: the database session and the app-wide services."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.hub import ConversationHub


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


def get_hub(request: Request) -> ConversationHub:
    return request.app.state.hub


SessionDep = Annotated[AsyncSession, Depends(get_session)]
HubDep = Annotated[ConversationHub, Depends(get_hub)]
