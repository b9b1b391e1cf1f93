"""The app-wide conversation hub as a route dependency."""

from typing import Annotated

from fastapi import Depends, Request

from backend.conversations.hub import ConversationHub


async def get_hub(request: Request) -> ConversationHub:
    # A coroutine: FastAPI runs a plain-function dependency in its thread pool, a thread hop per message.
    return request.app.state.hub


HubDep = Annotated[ConversationHub, Depends(get_hub)]
