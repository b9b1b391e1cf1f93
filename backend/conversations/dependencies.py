"""The app-wide conversation hub as a route dependency."""

from typing import Annotated

from fastapi import Depends, Request

from backend.conversations.hub import ConversationHub


def get_hub(request: Request) -> ConversationHub:
    return request.app.state.hub


HubDep = Annotated[ConversationHub, Depends(get_hub)]
