"""Request-scoped dependencies every domain shares: the app's settings and the database session."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from backend.core.config import Settings


async def get_app_settings(connection: HTTPConnection) -> Settings:
    """The settings the app was created with (`create_app`), for HTTP routes and sockets alike.

    Read from the app's state rather than by overriding `get_settings`: while `app.dependency_overrides` holds
    anything, FastAPI rebuilds every route's dependency tree on every request. Async, so no thread-pool hop.
    """
    return connection.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
