"""The leads API (/api/leads): staff list and read leads and record what came of them (audited).

Capture is the action server's call (backend/service_api/views.py), not a route here: it is part of the
service API the bot reaches with its token.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from backend.audit import service as audit
from backend.auth.dependencies import StaffDep
from backend.core.dependencies import SessionDep
from backend.core.errors import error_response, found_or_404
from backend.core.params import Offset, RecordId
from backend.leads import service
from backend.leads.models import Lead
from backend.leads.schemas import LeadOut, StatusIn

router = APIRouter(prefix="/api/leads", tags=["leads"])
NOT_FOUND = error_response(404, "No such lead.")
CONFLICT = error_response(409, "The lead's state does not allow that change (the reason is given).")
LeadStatus = Literal["new", "contacted", "won", "lost"]  # models.STATUSES, in the API's schema
MinScore = Annotated[float | None, Query(ge=0, le=1, description="Only leads scored at least this.")]
Limit = Annotated[int, Query(ge=1, le=500)]
AUDITED = {"status", "status_note", "status_by", "contacted_at", "outcome_at"}


async def _get(session: SessionDep, lead_id: int) -> Lead:
    return found_or_404(await session.get(Lead, lead_id), f"no lead {lead_id}")


def _audited(lead: Lead) -> dict[str, object]:
    """The fields a status change touches, as JSON (the audit row is JSON)."""
    return LeadOut.model_validate(lead).model_dump(mode="json", include=AUDITED)


@router.get("", response_model=list[LeadOut])
async def list_leads(
    session: SessionDep,
    _: StaffDep,
    status_: Annotated[
        LeadStatus | None, Query(alias="status", description="Only leads in this state.")
    ] = None,
    min_score: MinScore = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[LeadOut]:
    """Newest first, with score, reasons and the model or rules version that scored each."""
    found = await service.search(session, status_, min_score, limit, offset)
    return [LeadOut.model_validate(lead) for lead in found]


@router.get("/{lead_id}", response_model=LeadOut, responses=NOT_FOUND)
async def get_lead(lead_id: RecordId, session: SessionDep, _: StaffDep) -> LeadOut:
    return LeadOut.model_validate(await _get(session, lead_id))


@router.post("/{lead_id}/status", response_model=LeadOut, responses=NOT_FOUND | CONFLICT)
async def set_status(lead_id: RecordId, body: StatusIn, session: SessionDep, staff: StaffDep) -> LeadOut:
    """contacted, then won or lost (final); audited with before and after."""
    lead = await _get(session, lead_id)
    before = _audited(lead)
    try:
        service.set_status(lead, body.status, body.note, f"agent:{staff.id}")
    except service.StatusError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    audit.record(session, f"agent:{staff.id}", "lead.status", "lead", lead.id, before, _audited(lead))
    await session.commit()
    return LeadOut.model_validate(lead)
