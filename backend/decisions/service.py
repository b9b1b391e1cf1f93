"""Writing and reading the decision log.

`record` is the one call every decider makes (the hub's hand-off policy, the knowledge answer, routing,
priority, the retention offer, a person's override). Like the audit trail, it adds its row to the caller's
transaction, so the decision and the change it made commit together or not at all; one call, one row.
`insert_row` writes the same row at once, for the message path (no ORM object).

Inputs are features and identifiers, never message text: the transcript (and its PII-redacted copy) stays
where erasure and retention can reach it, and the decision row stays an anonymous aggregate after them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.database import utcnow
from backend.core.metrics import observe_decision
from backend.decisions.models import KINDS, LABELS_BY_KIND, Decision


class LabelDoesNotFit(ValueError):
    """A feedback label of another kind of decision (a hand-off is needed or not, anything else right or
    wrong)."""


class Fields(TypedDict, total=False):
    """What a decider says about one decision (`record`'s and `insert_row`'s keywords)."""

    action: Required[str]
    version: Required[str]
    inputs: dict[str, Any] | None
    scores: dict[str, Any] | None
    score: float | None
    threshold: float | None
    reasons: list[str] | None
    fallback: str | None
    latency_ms: float | None
    conversation_id: str | None
    case_id: int | None
    customer_id: int | None
    message_id: int | None
    overrides_decision_id: int | None
    at: datetime | None


def record(session: AsyncSession, kind: str, **fields: Unpack[Fields]) -> Decision:
    """One decision, added to the caller's transaction (the caller commits)."""
    row = _row(kind, fields)
    decision = Decision(**row)
    session.add(decision)
    _observe(row)
    return decision


# Built once: the message path writes a decision every turn.
_INSERT = insert(Decision.__table__)


async def insert_row(session: AsyncSession, kind: str, **fields: Unpack[Fields]) -> None:
    """`record` as one INSERT executed now in the caller's transaction, no ORM object: on the message path
    the unit of work's flush of the row cost more CPU than the statement. The same column values."""
    row = _row(kind, fields)
    await session.execute(_INSERT, row)
    _observe(row)


def _row(kind: str, fields: Fields) -> dict[str, Any]:
    """The decision's column values."""
    if kind not in KINDS:
        raise ValueError(f"unknown decision kind {kind!r}; one of {', '.join(KINDS)}")
    latency_ms = fields.get("latency_ms")
    row = {
        "kind": kind,
        "action": fields["action"],
        "version": fields["version"],
        "inputs": fields.get("inputs") or {},
        "scores": fields.get("scores") or {},
        "score": fields.get("score"),
        "threshold": fields.get("threshold"),
        "reasons": list(fields.get("reasons") or []),
        "fallback": fields.get("fallback"),
        "latency_ms": None if latency_ms is None else round(latency_ms, 3),
        "created_at": fields.get("at") or utcnow(),
    }
    for key in ("conversation_id", "case_id", "customer_id", "message_id", "overrides_decision_id"):
        row[key] = fields.get(key)
    return row


def _observe(row: dict[str, Any]) -> None:
    """Decisions by decider and version, and their scores, counted as they are recorded."""
    observe_decision(row["kind"], row["action"], row["version"], row["score"], row["fallback"])


@dataclass(frozen=True)
class DecisionFilter:
    conversation_id: str | None = None
    case_id: int | None = None
    kind: str | None = None


async def search(session: AsyncSession, where: DecisionFilter, limit: int) -> list[Decision]:
    """Newest first."""
    query = select(Decision).order_by(Decision.id.desc()).limit(limit)
    if where.conversation_id is not None:
        query = query.where(Decision.conversation_id == where.conversation_id)
    if where.case_id is not None:
        query = query.where(Decision.case_id == where.case_id)
    if where.kind is not None:
        query = query.where(Decision.kind == where.kind)
    return list((await session.execute(query)).scalars())


def check_label(decision: Decision, label: str) -> None:
    fitting = LABELS_BY_KIND[decision.kind]
    if label not in fitting:
        raise LabelDoesNotFit(f"a {decision.kind} decision is labelled {' or '.join(fitting)}, not {label!r}")


def give_feedback(decision: Decision, label: str, note: str | None, by: str) -> dict[str, Any]:
    """A person's verdict on the decision (the last one counts); returns the verdict it replaced, for the
    audit trail. The caller commits."""
    check_label(decision, label)
    before = {"label": decision.feedback_label, "note": decision.feedback_note, "by": decision.feedback_by}
    decision.feedback_label, decision.feedback_note = label, note
    decision.feedback_by, decision.feedback_at = by, utcnow()
    return before


def mark_reviewed(decision: Decision, label: str, note: str | None, by: str) -> dict[str, Any]:
    """A supervisor's review of a sampled decision: a verdict like any other, and the reviewer named."""
    before = give_feedback(decision, label, note, by)
    decision.reviewed_by, decision.reviewed_at = by, decision.feedback_at
    return before


async def latest(session: AsyncSession, kind: str, case_id: int) -> Decision | None:
    """The newest decision of `kind` about this case: the one a person's override overrides."""
    query = (
        select(Decision)
        .where(Decision.kind == kind, Decision.case_id == case_id)
        .order_by(Decision.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()
