"""Scoring in the flow: churn risk of a customer, escalation risk of a conversation turn, retention offers.

`score_turn` is the integration point for the message hub: call it after each customer turn has been
parsed and stored. It computes the escalation features of the conversation up to that message from the
database, applies the guardrails (backend/risk/rules.py), scores with the production escalation model, stores
the score in `risk_scores` with the model version that made it, and returns the decision with its reasons.

Scores live in `risk_scores` only (no copy on `messages`): one table holds both kinds, each row names its
model version, message and decision, and the conversations domain stays free of risk columns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Conversation, Message
from backend.core.config import Settings, get_settings
from backend.core.database import utcnow
from backend.customers.models import Customer
from backend.risk import challenger, crm, drift, registry, rules
from backend.risk.features import Turn, churn_features, escalation_features
from backend.risk.jsonsafe import json_safe
from backend.risk.models import ModelVersion, RiskScore
from backend.risk.registry import RegistryError

if TYPE_CHECKING:  # the artifact (and scikit-learn) loads with the first model, in registry.load
    from backend.risk.artifact import RiskModel

log = logging.getLogger(__name__)
CHURN_SCORE_MAX_AGE = timedelta(hours=24)  # a turn reuses a churn score this fresh instead of recomputing


class NoProductionModel(RegistryError):
    pass


class SubjectNotFound(RegistryError):
    pass


class NotApplicable(RegistryError):
    """A valid request this model cannot answer (e.g. a CRM population for a non-CRM model)."""


@dataclass(frozen=True)
class EscalationDecision:
    escalate: bool
    score: float | None  # calibrated probability; None when no escalation model is in production
    threshold: float
    reasons: list[str]  # guardrail reasons first, then the model's top reason codes
    rules: list[str] = field(default_factory=list)  # names of the guardrails that fired
    model_version_id: int | None = None
    score_id: int | None = None
    churn_risk: float | None = None  # the customer's churn risk this turn's features used (None: anonymous)


@dataclass(frozen=True)
class ChurnRisk:
    customer_id: int
    score: float
    high_risk: bool
    threshold: float
    reasons: list[dict[str, Any]]
    model_version_id: int
    model_version: str
    score_id: int
    scored_at: datetime


async def production_model(
    session: AsyncSession, kind: str, settings: Settings, serving: registry.Serving | None = None
) -> tuple[registry.Version, RiskModel]:
    """The production version of `kind` and its model (from `serving` when the caller read it already)."""
    version = serving.production(kind) if serving is not None else await registry.production(session, kind)
    if version is None:
        raise NoProductionModel(f"there is no production {kind} model yet: run python -m ml.risk.bootstrap")
    return version, registry.load(settings.risk_model_dir, version)


# ------------------------------------------------------------------------------------------ churn


async def score_customer(
    session: AsyncSession, customer_id: int, settings: Settings | None = None, now: datetime | None = None
) -> ChurnRisk:
    """Churn risk of one customer with the production churn model; the score is stored."""
    settings, now = settings or get_settings(), now or utcnow()
    version, model = await production_model(session, "churn", settings)
    found = await crm.customer_snapshots(session, now, [customer_id])
    if customer_id not in found:
        raise SubjectNotFound(f"no customer {customer_id}")
    features = churn_features(found[customer_id][1], now)
    scored = model.score(features)
    reasons = [r.as_dict() for r in scored.reasons]
    values = _values("customer", str(customer_id), "churn", scored.score, reasons, features, version, now)
    row = RiskScore(**values)
    session.add(row)
    await session.commit()
    return ChurnRisk(
        customer_id=customer_id,
        score=scored.score,
        high_risk=scored.score >= settings.churn_high_threshold,
        threshold=settings.churn_high_threshold,
        reasons=reasons,
        model_version_id=version.id,
        model_version=version.version,
        score_id=row.id,
        scored_at=now,
    )


def _values(
    subject_type: str,
    subject_id: str,
    kind: str,
    score: float,
    reasons: list[dict[str, Any]],
    features: dict[str, Any],
    version: registry.Version,
    now: datetime,
    message_id: int | None = None,
    decision: str | None = None,
) -> dict[str, Any]:
    """A served score's column values."""
    return {
        "subject_type": subject_type,
        "subject_id": subject_id,
        "kind": kind,
        "score": float(score),
        "reasons": json_safe(reasons),
        "features": json_safe(features),
        "message_id": message_id,
        "decision": decision,
        "model_version_id": version.id,
        "created_at": now,
    }


_INSERT_SCORE = insert(RiskScore.__table__).returning(RiskScore.__table__.c.id)


# A customer's latest stored churn score since a time, only the two columns a turn compares (not its reasons
# and features), built once: every scored turn of a known customer runs it.
_SCORES = RiskScore.__table__
_LATEST_CHURN = (
    select(_SCORES.c.model_version_id, _SCORES.c.score)
    .where(
        _SCORES.c.subject_type == "customer",
        _SCORES.c.subject_id == bindparam("subject_id"),
        _SCORES.c.kind == "churn",
        _SCORES.c.created_at >= bindparam("since"),
    )
    .order_by(_SCORES.c.id.desc())
    .limit(1)
)


async def churn_for_turn(
    session: AsyncSession,
    conversation: Conversation,
    settings: Settings,
    now: datetime,
    serving: registry.Serving | None = None,
) -> float | None:
    """The customer's churn risk: a fresh stored score of the production model, else a new one."""
    if conversation.customer_id is None:
        return None
    current = (
        serving.production("churn") if serving is not None else await registry.production(session, "churn")
    )
    if current is None:
        return None
    params = {"subject_id": str(conversation.customer_id), "since": now - CHURN_SCORE_MAX_AGE}
    recent = (await session.execute(_LATEST_CHURN, params)).first()
    if recent is not None and recent.model_version_id == current.id:
        return recent.score
    try:
        return (await score_customer(session, conversation.customer_id, settings, now)).score
    except RegistryError as exc:  # an unknown customer or a missing artifact: the turn is scored without it
        log.warning("conversation %s: no churn risk: %s", conversation.id, exc)
        return None


def retention_offer(customer: Customer, churn_score: float, threshold: float | None = None) -> str | None:
    """The offer for a cancel intent from a high-churn-risk customer (table in backend/risk/rules.py).

    None when the customer is below `churn_high_threshold`: the bot then handles the cancellation as asked.
    """
    limit = threshold if threshold is not None else get_settings().churn_high_threshold
    if churn_score < limit:
        return None
    return rules.choose_offer(customer.contract, customer.lifetime_value, customer.plan)


# ------------------------------------------------------------------------------------------ escalation


async def score_turn(
    session: AsyncSession,
    conversation: Conversation,
    message: Message,
    settings: Settings | None = None,
    turns: Sequence[Turn] | None = None,
    commit: bool = True,
) -> EscalationDecision:
    """Escalate or not after this customer message; the score is stored with its model version. `turns`:
    the conversation's customer turns up to this message, when the caller read them already. With
    `commit` False the score's row is written in the caller's transaction, which the caller commits."""
    settings, now = settings or get_settings(), utcnow()
    if turns is None:
        turns = await crm.turns_until(session, conversation.id, message.id)
    if not turns or message.sender != "customer":
        raise ValueError("score_turn needs a stored customer message of this conversation")
    serving = await registry.serving(session)
    churn = await churn_for_turn(session, conversation, settings, now, serving)
    features = escalation_features(turns, await crm.turn_context(session, conversation, churn))
    fired = rules.triggered(features)
    try:
        version, model = await production_model(session, "escalation", settings, serving)
    except (NoProductionModel, registry.ArtifactMissing) as exc:
        # The guardrails are promises to the customer: they hold even before any model exists.
        log.warning("conversation %s: %s; guardrails only", conversation.id, exc)
        return _decision(fired, None, settings.escalation_threshold, churn=churn)
    scored = model.score(features)
    reasons = [r.as_dict() for r in scored.reasons]
    version, scored, reasons = await _with_challenger(
        session, settings, conversation, message, features, version, scored, reasons, serving
    )
    escalate = bool(fired) or scored.score >= settings.escalation_threshold
    row = _values(
        "conversation", conversation.id, "escalation", scored.score, reasons, features, version, now,
        message_id=message.id, decision="escalate" if escalate else "continue",
    )  # fmt: skip
    # A Core INSERT, not an ORM object: the unit of work's flush of it cost more CPU than the statement.
    score_id = (await session.execute(_INSERT_SCORE, row)).scalar_one()
    if commit:
        await session.commit()
    raising = [r["text"] for r in reasons if r["contribution"] > 0]
    return _decision(fired, scored.score, settings.escalation_threshold, raising, version.id, score_id, churn)


async def _with_challenger(
    session: AsyncSession,
    settings: Settings,
    conversation: Conversation,
    message: Message,
    features: dict[str, Any],
    version: registry.Version,
    scored: Any,
    reasons: list[dict[str, Any]],
    serving: registry.Serving,
) -> tuple[registry.Version, Any, list[dict[str, Any]]]:
    """With an escalation challenger: score it too, log both (backend/risk/challenger.py) and return the
    acting model's version, score and reasons; without one, the champion's unchanged."""
    rival = serving.challenger("escalation")
    if rival is None:
        return version, scored, reasons
    try:
        rival_scored = registry.load(settings.risk_model_dir, rival).score(features)
    except Exception:  # a broken challenger must never change what the champion does
        log.exception("escalation challenger %s failed; the champion alone scores", rival.version)
        return version, scored, reasons
    rival_reasons = [r.as_dict() for r in rival_scored.reasons]
    acts = challenger.serves_challenger(conversation.id, settings.challenger_slice)
    challenger.log_turn(
        session,
        champion=challenger.Scored(version, scored.score, reasons),
        challenger=challenger.Scored(rival, rival_scored.score, rival_reasons),
        challenger_acts=acts,
        threshold=settings.escalation_threshold,
        features=features,
        conversation_id=conversation.id,
        customer_id=conversation.customer_id,
        message_id=message.id,
        at=message.created_at,
    )
    return (rival, rival_scored, rival_reasons) if acts else (version, scored, reasons)


def _decision(
    fired: list[rules.Guardrail],
    score: float | None,
    threshold: float,
    model_reasons: list[str] | None = None,
    version_id: int | None = None,
    score_id: int | None = None,
    churn: float | None = None,
) -> EscalationDecision:
    return EscalationDecision(
        escalate=bool(fired) or (score is not None and score >= threshold),
        score=score,
        threshold=threshold,
        reasons=[r.reason for r in fired] + (model_reasons or []),
        rules=[r.name for r in fired],
        model_version_id=version_id,
        score_id=score_id,
        churn_risk=churn,
    )


# ------------------------------------------------------------------------------------------ drift


async def drift_report(
    session: AsyncSession, version_id: int, settings: Settings, source: str, window: int
) -> dict[str, Any]:
    """PSI against the version's training bins, over its latest stored scores or today's customers."""
    version = await registry.get(session, version_id)
    if not version.drift_reference:
        raise SubjectNotFound(f"model version {version_id} has no drift reference")
    if source == "population":
        rows, scores = await _population(session, version, settings)
    else:
        query = (
            select(RiskScore.features, RiskScore.score)
            .where(RiskScore.model_version_id == version.id)
            .order_by(RiskScore.id.desc())
            .limit(window)
        )
        pairs = (await session.execute(query)).all()
        rows, scores = [p[0] for p in pairs], [p[1] for p in pairs]
    names = list(version.drift_reference["features"])
    frame = pd.DataFrame(rows, columns=names) if rows else pd.DataFrame(columns=names)
    report = drift.report(version.drift_reference, frame, scores)
    return {
        "model_version_id": version.id,
        "kind": version.kind,
        "version": version.version,
        "source": source,
        **report,
    }


async def _population(
    session: AsyncSession, version: ModelVersion, settings: Settings
) -> tuple[list[dict[str, Any]], list[float]]:
    """Today's active customers, scored in one batch (not stored): drift before any score is served."""
    if version.kind != "churn":
        raise NotApplicable("source=population is only available for churn models (CRM customers)")
    model, now = registry.load(settings.risk_model_dir, version), utcnow()
    snapshots = await crm.customer_snapshots(session, now)
    rows = [churn_features(s, now) for c, s in snapshots.values() if c.status == "active"]
    return rows, (model.predict(rows).tolist() if rows else [])
