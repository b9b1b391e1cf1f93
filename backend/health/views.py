"""Liveness and readiness: the database must answer; Rasa being down only degrades the service."""

from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel
from sqlalchemy import text

from backend.auth.policy import public

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: Literal["ok", "degraded", "down"]
    database: Literal["ok", "unreachable"]
    rasa: Literal["ok", "unreachable"]


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "The database is unreachable."}},
)
@public
async def health(request: Request, response: Response) -> HealthOut:
    """503 when the database is unreachable; 'degraded' (200) when only Rasa is: messages are still stored."""
    database_ok = await _database_ok(request)
    rasa_ok = await request.app.state.rasa.is_healthy()
    if not database_ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    overall = "down" if not database_ok else ("ok" if rasa_ok else "degraded")
    return HealthOut(
        status=overall,
        database="ok" if database_ok else "unreachable",
        rasa="ok" if rasa_ok else "unreachable",
    )


async def _database_ok(request: Request) -> bool:
    try:
        async with request.app.state.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure to reach the database means "unreachable"
        return False
    return True
