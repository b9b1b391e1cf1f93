"""Bodies of the audit log API."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    actor: str = Field(description='Who acted: a staff email or "agent:<id>", "service:...", "system".')
    action: str = Field(
        description='What was done, e.g. "kb.article.update", "model.promote", "case.transfer".'
    )
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime


class AuditPageOut(BaseModel):
    total: int = Field(description="Events matching the filters, across all pages.")
    limit: int
    offset: int
    items: list[AuditEventOut] = Field(description="Newest first.")
