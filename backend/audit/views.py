"""The audit log API for admins: who did what to which record and when, before and after; filtered, paged."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from backend.audit import service
from backend.audit.schemas import AuditEventOut, AuditPageOut
from backend.auth.dependencies import require_role
from backend.core.dependencies import SessionDep
from backend.core.params import Offset
from backend.core.text import Text

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], dependencies=[Depends(require_role("admin"))])


@router.get("", response_model=AuditPageOut)
async def list_audit_events(
    session: SessionDep,
    actor: Annotated[Text | None, Query(min_length=1, max_length=320, description="Exact actor.")] = None,
    action: Annotated[
        Text | None,
        Query(min_length=1, max_length=64, description='An action ("case.transfer") or a family ("case.*").'),
    ] = None,
    entity_type: Annotated[Text | None, Query(min_length=1, max_length=64)] = None,
    entity_id: Annotated[Text | None, Query(min_length=1, max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="From this time on (ISO 8601 with zone).")] = None,
    until: Annotated[datetime | None, Query(description="Before this time (ISO 8601 with zone).")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> AuditPageOut:
    """Staff actions (knowledge edits, model promotions, case transfers, data exports and deletions, ...)."""
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} needs a time zone, e.g. ...Z")
    where = service.AuditFilter(actor, action, entity_type, entity_id, since, until)
    total, events = await service.search(session, where, limit, offset)
    items = [AuditEventOut.model_validate(e) for e in events]
    return AuditPageOut(total=total, limit=limit, offset=offset, items=items)


@router.get("/actions", response_model=list[str])
async def list_audit_actions(session: SessionDep) -> list[str]:
    """Every action name recorded so far."""
    return await service.actions(session)
