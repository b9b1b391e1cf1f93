"""The audit trail, written and read. Writers add the event to their own transaction: both commit together."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditEvent


def record(
    session: AsyncSession,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=before,
        after=after,
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class AuditFilter:
    """Every field narrows the search; None leaves it open. `action` ending in ".*" matches a family."""

    actor: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.actor is not None:
            query = query.where(AuditEvent.actor == self.actor)
        if self.action is not None and self.action.endswith(".*"):
            family = self.action[:-1]  # "case.*" -> "case." ; LIKE wildcards in names are escaped
            escaped = family.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(AuditEvent.action.like(f"{escaped}%", escape="\\"))
        elif self.action is not None:
            query = query.where(AuditEvent.action == self.action)
        if self.entity_type is not None:
            query = query.where(AuditEvent.entity_type == self.entity_type)
        if self.entity_id is not None:
            query = query.where(AuditEvent.entity_id == self.entity_id)
        if self.since is not None:
            query = query.where(AuditEvent.created_at >= self.since)
        if self.until is not None:
            query = query.where(AuditEvent.created_at < self.until)
        return query


async def search(
    session: AsyncSession, where: AuditFilter, limit: int, offset: int
) -> tuple[int, list[AuditEvent]]:
    """How many events match, and one page of them, newest first."""
    total = (await session.execute(where.apply(select(func.count(AuditEvent.id))))).scalar_one()
    page = where.apply(select(AuditEvent)).order_by(AuditEvent.id.desc()).limit(limit).offset(offset)
    return total, list((await session.execute(page)).scalars())


async def actions(session: AsyncSession) -> list[str]:
    """The action names recorded so far, for the audit page's filter."""
    query = select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    return list((await session.execute(query)).scalars())
