"""The retention purge: closed conversations idle longer than TRANSCRIPT_RETENTION_DAYS lose their text.

    python -m backend.privacy.purge [--days N] [--batch-size 500] [--dry-run]

Closed means no message for the retention period and no case still open (the backend never marks a bot
conversation as finished, so idleness is what closes it). The rows stay, with intent, sentiment and
timestamps, so counts, analytics buckets and the risk models' CRM training keep working; the words go:
message text and its redacted copy become "[removed: retention]", entities are dropped, the cases' hand-off
reasons (which quote the customer), the free-text CSAT answers and those words in the audit trail are
replaced, and the conversations' Rasa trackers are deleted (or recorded as pending,
backend/privacy/tracker.py). Batches of conversations, each committed on its own; a purged conversation is
marked (transcript_erased_at), so a re-run or a second worker does nothing twice. Each run that purged
something writes one audit event (actor "system", or "cli:privacy.purge" from the command line). The
privacy worker runs it every RETENTION_PURGE_INTERVAL_S.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.audit.models import AuditEvent
from backend.cases import csat
from backend.cases.models import Case
from backend.conversations.models import Conversation
from backend.core.config import Settings, get_settings
from backend.core.database import make_engine, make_sessionmaker, utcnow
from backend.privacy import service, tracker

PURGED_TEXT = "[removed: retention]"


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime | None  # None: retention is off (0 days)
    conversations: int
    messages: int
    trackers_erased: int
    trackers_pending: int


def _expired(cutoff: datetime, batch_size: int | None) -> Select[Any]:
    open_case = exists().where(Case.conversation_id == Conversation.id, Case.status != "resolved")
    return (
        select(Conversation.id)
        .where(Conversation.last_message_at < cutoff, Conversation.transcript_erased_at.is_(None), ~open_case)
        .order_by(Conversation.last_message_at)
        .limit(batch_size)
    )


async def count_expired(session: AsyncSession, settings: Settings, now: datetime | None = None) -> int:
    if settings.transcript_retention_days == 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=settings.transcript_retention_days)
    return int(await session.scalar(select(func.count()).select_from(_expired(cutoff, None).subquery())) or 0)


async def purge_expired(
    session: AsyncSession,
    settings: Settings,
    now: datetime | None = None,
    batch_size: int = 500,
    actor: str = "system",
) -> PurgeResult:
    if settings.transcript_retention_days == 0:
        return PurgeResult(None, 0, 0, 0, 0)
    cutoff = (now or utcnow()) - timedelta(days=settings.transcript_retention_days)
    conversations = messages = 0
    while batch := list((await session.execute(_expired(cutoff, batch_size))).scalars()):
        messages += await _purge_batch(session, batch)
        conversations += len(batch)
    if conversations:
        after = {
            "conversations": conversations,
            "messages": messages,
            "cutoff": cutoff.isoformat(),
            "retention_days": settings.transcript_retention_days,
        }
        audit.record(session, actor, "privacy.retention_purge", "conversation", "*", after=after)
        await session.commit()
    trackers = await tracker.settle(session, settings)
    return PurgeResult(cutoff, conversations, messages, trackers.erased, trackers.pending)


async def _purge_batch(session: AsyncSession, conversation_ids: list[str]) -> int:
    case_ids = list(
        (await session.execute(select(Case.id).where(Case.conversation_id.in_(conversation_ids)))).scalars()
    )
    if case_ids:
        about_cases = select(AuditEvent).where(
            AuditEvent.entity_type == "case", AuditEvent.entity_id.in_([str(i) for i in case_ids])
        )
        await service.scrub_audit(session, about_cases)
        for case in (await session.execute(select(Case).where(Case.id.in_(case_ids)))).scalars():
            case.reason = PURGED_TEXT
            case.csat_answers = csat.erase_text(case.csat_answers, PURGED_TEXT)
    changed = await service.erase_transcripts(session, conversation_ids, PURGED_TEXT)
    await tracker.request(session, conversation_ids, "retention")
    await session.commit()
    return changed


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, help="override TRANSCRIPT_RETENTION_DAYS for this run (>= 1)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--dry-run", action="store_true", help="only count what would be purged")
    args = parser.parse_args(argv)
    if args.days is not None and args.days < 1:
        parser.error("--days must be at least 1 (0 would mean: keep forever, nothing to purge)")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return args


async def run(args: argparse.Namespace, settings: Settings) -> None:
    if args.days is not None:
        settings = settings.model_copy(update={"transcript_retention_days": args.days})
    days = settings.transcript_retention_days
    engine = make_engine(settings.async_database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            if days == 0:
                print("TRANSCRIPT_RETENTION_DAYS is 0: transcripts are kept forever, nothing purged")
            elif args.dry_run:
                count = await count_expired(session, settings)
                print(f"{count} closed conversations idle for more than {days} days (dry run)")
            else:
                actor = "cli:privacy.purge"
                result = await purge_expired(session, settings, batch_size=args.batch_size, actor=actor)
                print(describe(result))
    finally:
        await engine.dispose()


def describe(result: PurgeResult) -> str:
    return (
        f"purged {result.conversations} conversations ({result.messages} messages) idle since before "
        f"{result.cutoff:%Y-%m-%d %H:%M} UTC; Rasa trackers erased {result.trackers_erased}, "
        f"pending {result.trackers_pending}"
    )


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse(argv), get_settings()))


if __name__ == "__main__":
    main()
