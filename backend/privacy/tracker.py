"""Deleting conversations from Rasa's SQL tracker store, where Rasa keeps its own copy of every transcript.

Why SQL and not Rasa's HTTP API: `rasa run --enable-api` (scripts/stack.py) has no endpoint that deletes a
tracker, and `PUT /conversations/{id}/tracker/events` with an empty list does not erase anything on an SQL
tracker store, whose save() only appends the events it has not stored yet. So the backend deletes the
`events` rows of the conversation's sender id (Rasa's SQLTrackerStore table) in the same database Rasa
reads: the SQLite file `RASA_TRACKER_DB` that scripts/stack.py gives Rasa and the backend alike, or
`RASA_TRACKER_STORE_URL` (the PostgreSQL `rasa` database of the scaled-out setup).

Every erasure is first written to `tracker_erasures` in the backend's own transaction. When the tracker
store is not configured or not reachable the row stays pending (with the error) and the privacy worker
retries it; the API says how many are pending instead of pretending they are done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings, to_sync_url
from backend.core.database import utcnow
from backend.privacy.models import TrackerErasure

DELETE_EVENTS = text("DELETE FROM events WHERE sender_id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)


class TrackerStoreUnavailable(Exception):
    pass


@dataclass(frozen=True)
class TrackerOutcome:
    erased: int  # conversations whose tracker is now gone (or never existed)
    pending: int  # still owed: the store was not configured or not reachable
    detail: str | None = None


def tracker_store_url(settings: Settings) -> str | None:
    if settings.rasa_tracker_store_url:
        return to_sync_url(settings.rasa_tracker_store_url)
    if settings.rasa_tracker_db is not None:
        return f"sqlite:///{settings.rasa_tracker_db}"
    return None


def delete_events(url: str, sender_ids: Sequence[str]) -> int:
    """Blocking: delete every tracker event of these senders; returns the number of event rows deleted."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        # Opening a missing SQLite file would create an empty one and report success.
        raise TrackerStoreUnavailable(f"tracker store file {parsed.database} does not exist")
    engine = create_engine(
        parsed, connect_args={"timeout": 10} if parsed.get_backend_name() == "sqlite" else {}
    )
    try:
        with engine.begin() as connection:
            return connection.execute(DELETE_EVENTS, {"ids": list(sender_ids)}).rowcount
    except SQLAlchemyError as exc:
        raise TrackerStoreUnavailable(
            f"tracker store refused the delete: {exc.__class__.__name__}: {exc}"
        ) from exc
    finally:
        engine.dispose()


async def request(session: AsyncSession, conversation_ids: Sequence[str], reason: str) -> None:
    """Owe the tracker erasure of these conversations (in the caller's transaction); a conversation already
    owed or done (purged by retention, then its customer erased) is not added twice."""
    query = select(TrackerErasure.conversation_id).where(TrackerErasure.conversation_id.in_(conversation_ids))
    known = set((await session.execute(query)).scalars())
    for conversation_id in dict.fromkeys(conversation_ids):
        if conversation_id not in known:
            session.add(TrackerErasure(conversation_id=conversation_id, reason=reason))


async def owed(session: AsyncSession, conversation_ids: Sequence[str] | None = None) -> list[TrackerErasure]:
    query = select(TrackerErasure).where(TrackerErasure.completed_at.is_(None)).order_by(TrackerErasure.id)
    if conversation_ids is not None:
        query = query.where(TrackerErasure.conversation_id.in_(conversation_ids))
    return list((await session.execute(query.limit(1000))).scalars())


async def settle(
    session: AsyncSession, settings: Settings, conversation_ids: Sequence[str] | None = None
) -> TrackerOutcome:
    """Try every owed tracker erasure (or those of `conversation_ids`) once; commit what happened."""
    rows = await owed(session, conversation_ids)
    if not rows:
        return TrackerOutcome(erased=0, pending=0)
    url = tracker_store_url(settings)
    error = None
    if url is None:
        error = "no tracker store configured (set RASA_TRACKER_STORE_URL or RASA_TRACKER_DB)"
    else:
        try:
            await asyncio.to_thread(delete_events, url, [row.conversation_id for row in rows])
        except TrackerStoreUnavailable as exc:
            error = str(exc)
    now = utcnow()
    for row in rows:
        row.attempts += 1
        row.last_error = error
        row.completed_at = None if error else now
    await session.commit()
    return TrackerOutcome(erased=0 if error else len(rows), pending=len(rows) if error else 0, detail=error)
