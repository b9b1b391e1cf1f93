"""Privacy routes, admins only, every call audited: customer export and erasure (GDPR), the redacted
transcript export for training, and the state of redaction, retention and owed tracker erasures."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import func, select

from backend.audit import service as audit
from backend.auth.dependencies import AdminDep
from backend.conversations.models import Message
from backend.core.dependencies import SessionDep, SettingsDep
from backend.core.errors import error_response
from backend.core.text import Text
from backend.customers.models import Customer
from backend.privacy import purge, service, tracker
from backend.privacy.models import TrackerErasure
from backend.privacy.schemas import (
    CustomerExportOut,
    ErasureOut,
    PrivacyStatusOut,
    TrackerErasureOut,
    TranscriptExportOut,
)

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])
NOT_FOUND = error_response(status.HTTP_404_NOT_FOUND, "no customer with this id")
# Ids are 32-bit on every database: a larger one is a 422 here rather than a database error.
CustomerId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _actor(admin: Any) -> str:
    return f"agent:{admin.id}"


async def _customer(session: SessionDep, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no customer {customer_id}")
    return customer


@router.get("/customers/{customer_id}/export", response_model=CustomerExportOut, responses=NOT_FOUND)
async def export_customer(customer_id: CustomerId, session: SessionDep, admin: AdminDep) -> dict[str, Any]:
    """Everything held about the customer: profile, orders, conversations with every message, cases,
    CSAT, risk scores and the audit events about them. The export itself is audited (counts only)."""
    customer = await _customer(session, customer_id)
    export = await service.export_customer(session, customer)
    summary = service.export_summary(export)
    audit.record(session, _actor(admin), "privacy.export", "customer", customer_id, after=summary)
    await session.commit()
    return export


@router.delete(
    "/customers/{customer_id}",
    response_model=ErasureOut,
    responses={
        **NOT_FOUND,
        **error_response(status.HTTP_409_CONFLICT, "an open case still needs the customer's data"),
    },
)
async def erase_customer(
    customer_id: CustomerId, session: SessionDep, settings: SettingsDep, admin: AdminDep
) -> ErasureOut:
    """Erase the customer's personal data and transcripts (the module docstring of backend/privacy/
    service.py says what happens per table), and their conversations in Rasa's tracker store. Repeating
    the call answers with the first erasure (`already_erased`); trackers still owed are retried."""
    customer = await _customer(session, customer_id)
    try:
        erasure = await service.erase_customer(session, customer, _actor(admin))
    except service.ErasureBlocked as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    await tracker.settle(session, settings, erasure.conversation_ids)
    owed = await tracker.owed(session, erasure.conversation_ids)
    detail = owed[0].last_error if owed else None
    trackers = TrackerErasureOut(
        erased=len(erasure.conversation_ids) - len(owed), pending=len(owed), detail=detail
    )
    receipt = erasure.receipt
    return ErasureOut(
        customer_id=customer_id,
        erased_at=receipt.erased_at,
        erased_by=receipt.erased_by,
        already_erased=erasure.already_erased,
        summary=receipt.summary,
        rasa_trackers=trackers,
    )


@router.get("/transcripts", response_model=TranscriptExportOut)
async def export_redacted_transcripts(
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    since: Annotated[datetime | None, Query(description="conversations started at or after")] = None,
    until: Annotated[datetime | None, Query(description="conversations started before")] = None,
    after: Annotated[Text | None, Query(max_length=64, description="next_after of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TranscriptExportOut:
    """Transcripts for training and analytics, PII replaced by typed placeholders; erased and purged
    transcripts are left out. Messages not redacted yet are redacted now. Audited (filters and counts)."""
    for bound in (since, until):
        if bound is not None and bound.tzinfo is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give since/until with a time zone")
    conversations = await service.redacted_transcripts(session, settings, since, until, limit, after)
    filters = {"since": since and since.isoformat(), "until": until and until.isoformat(), "after": after}
    counts = {"conversations": len(conversations), "messages": sum(len(c["messages"]) for c in conversations)}
    audit.record(
        session,
        _actor(admin),
        "privacy.transcripts.export",
        "conversation",
        "*",
        before=filters,
        after=counts,
    )
    await session.commit()
    next_after = conversations[-1]["conversation_id"] if len(conversations) == limit else None
    return TranscriptExportOut.model_validate({"conversations": conversations, "next_after": next_after})


@router.get("/status", response_model=PrivacyStatusOut)
async def privacy_status(session: SessionDep, settings: SettingsDep, _admin: AdminDep) -> PrivacyStatusOut:
    """How far redaction, retention and the owed Rasa tracker erasures are."""
    unredacted = await session.scalar(select(func.count(Message.id)).where(Message.text_redacted.is_(None)))
    owed = await tracker.owed(session)
    return PrivacyStatusOut(
        transcript_retention_days=settings.transcript_retention_days,
        unredacted_messages=int(unredacted or 0),
        expired_conversations=await purge.count_expired(session, settings),
        tracker_erasures_pending=await _count_owed(session),
        tracker_store_configured=tracker.tracker_store_url(settings) is not None,
        last_tracker_error=owed[-1].last_error if owed else None,
    )


async def _count_owed(session: SessionDep) -> int:
    query = select(func.count(TrackerErasure.id)).where(TrackerErasure.completed_at.is_(None))
    return int(await session.scalar(query) or 0)
