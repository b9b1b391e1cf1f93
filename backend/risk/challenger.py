"""Champion-challenger for the escalation model: shadow scoring, a served slice, and the lift on outcomes.

An admin names one registered escalation version the **challenger** (status `challenger`; one per kind).
From then on every scored customer turn is scored by both models (backend/risk/service.py `score_turn`):

- the **champion** (the production version) acts, except on the configured slice of conversations
  (`challenger_slice`: SHA-256 of the conversation id mapped to [0, 1) below the share), where the
  challenger acts instead;
- both scores are written to the decision log as `escalation` decisions, one row per model per turn, dated at
  the customer message, with `inputs.shadow` True on the row of the model that did not act and
  `inputs.pair` naming the turn, so the two rows of one turn can be joined. Only the acting model's score
  becomes the turn's `risk_scores` row and so reaches the case priority and the agent's panel.

The outcome job (backend/decisions/outcomes.py) fills each row's `handed_over`: a case opened for the
conversation at or after that turn, which neither model's score decides (the hand-off policy does,
backend/handoff/). `lift` pairs the two rows of every turn with a final outcome and compares ROC-AUC on
those same turns (the registry's gate metric, so hold-out and logged evidence speak the same language): the
lift is challenger minus champion, with a 95 % percentile bootstrap interval over turns resampled in pairs.
Promotion of a challenger needs at least `challenger_min_outcomes` such turns, both outcomes present, and the
interval's lower bound above 0.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.core.config import Settings
from backend.decisions import service as decisions
from backend.decisions.models import Decision
from backend.risk import registry
from backend.risk.jsonsafe import json_safe
from backend.risk.models import ModelVersion

STATUS = "challenger"
KINDS = ("escalation",)  # live turn scoring is where a shadow model can sit beside the champion


class ChallengerRefused(registry.RegistryError):
    pass


def serves_challenger(conversation_id: str, share: float) -> bool:
    """Whether the challenger acts on this conversation: a stable hash, so a conversation never switches."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"challenger:{conversation_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


async def current(session: AsyncSession, kind: str) -> ModelVersion | None:
    query = select(ModelVersion).where(ModelVersion.kind == kind, ModelVersion.status == STATUS)
    return (await session.execute(query.order_by(ModelVersion.id.desc()).limit(1))).scalars().first()


async def start(session: AsyncSession, version_id: int, actor: str) -> ModelVersion:
    """Make a candidate the challenger of its kind (the previous challenger goes back to candidate)."""
    version = await registry.get(session, version_id)
    if version.kind not in KINDS:
        raise ChallengerRefused(f"only {', '.join(KINDS)} models can run as challengers")
    if version.status != "candidate":
        raise ChallengerRefused(f"{version.kind} {version.version} is {version.status}, not a candidate")
    previous = await current(session, version.kind)
    if previous is not None:
        previous.status = "candidate"
    version.status = STATUS
    audit.record(
        session,
        actor,
        "model.challenger_start",
        "model_version",
        version.id,
        before={"challenger": previous.version if previous else None},
        after={"challenger": version.version},
    )
    await session.commit()
    return version


async def stop(session: AsyncSession, kind: str, actor: str) -> ModelVersion:
    version = await current(session, kind)
    if version is None:
        raise ChallengerRefused(f"there is no {kind} challenger")
    version.status = "candidate"
    audit.record(
        session, actor, "model.challenger_stop", "model_version", version.id, after={"status": "candidate"}
    )
    await session.commit()
    return version


@dataclass(frozen=True)
class Scored:
    version: registry.Version
    score: float
    reasons: list[dict[str, Any]]


def log_turn(
    session: AsyncSession,
    *,
    champion: Scored,
    challenger: Scored,
    challenger_acts: bool,
    threshold: float,
    features: dict[str, Any],
    conversation_id: str,
    customer_id: int | None,
    message_id: int,
    at: datetime,
    latency_ms: float | None = None,
) -> list[Decision]:
    """The two decision rows of one turn (the caller commits them with the turn's score)."""
    rows = []
    for role, scored, acts in (
        ("champion", champion, not challenger_acts),
        ("challenger", challenger, challenger_acts),
    ):
        rows.append(
            decisions.record(
                session,
                "escalation",
                action="escalate" if scored.score >= threshold else "continue",
                version=f"escalation:{scored.version.version}",
                inputs={
                    "features": json_safe(features),
                    "shadow": not acts,
                    "role": role,
                    "pair": f"message:{message_id}",
                },
                scores={"escalation": scored.score},
                score=scored.score,
                threshold=threshold,
                reasons=[r["text"] for r in scored.reasons if r.get("contribution", 0) > 0],
                latency_ms=latency_ms,
                conversation_id=conversation_id,
                customer_id=customer_id,
                message_id=message_id,
                at=at,
            )
        )
    return rows


def outcome_label(outcome: dict[str, Any] | None) -> int | None:
    if not outcome or outcome.get("handed_over") is None:
        return None
    return int(bool(outcome["handed_over"]))


def _auc(y: np.ndarray, scores: np.ndarray) -> float:
    """ROC-AUC by the rank-sum (Mann-Whitney) formula, ties averaged: equal to scikit-learn's, and fast
    enough for a thousand bootstrap resamples inside a request."""
    from scipy.stats import rankdata

    positives = int(y.sum())
    negatives = len(y) - positives
    ranks = rankdata(scores)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def paired_auc_lift(
    y: np.ndarray, champion: np.ndarray, challenger: np.ndarray, resamples: int, seed: int = 15
) -> dict[str, Any]:
    """ROC-AUC of both on the same turns, the lift and its 95 % percentile bootstrap interval (turns
    resampled with both scores, so the pairing is kept)."""
    base, new = _auc(y, champion), _auc(y, challenger)
    rng = np.random.default_rng(seed)
    lifts = []
    n = len(y)
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        if y[idx].min() == y[idx].max():  # a resample with one class has no ROC-AUC: draw again
            continue
        lifts.append(_auc(y[idx], challenger[idx]) - _auc(y[idx], champion[idx]))
    low, high = np.percentile(lifts, [2.5, 97.5]).tolist() if lifts else [None, None]
    return {
        "champion_auc": base,
        "challenger_auc": new,
        "lift": new - base,
        "ci95": [low, high],
        "resamples": len(lifts),
    }


async def lift(session: AsyncSession, kind: str, settings: Settings) -> dict[str, Any]:
    """The challenger's measured lift over the champion on logged turns with final outcomes."""
    champion, challenger = await registry.production(session, kind), await current(session, kind)
    report: dict[str, Any] = {
        "kind": kind,
        "champion": champion.version if champion else None,
        "challenger": challenger.version if challenger else None,
        "metric": "roc_auc",
        "label": "handed_over (a case opened at or after the scored turn)",
        "min_outcomes": settings.challenger_min_outcomes,
        "n": 0,
        "passed": False,
    }
    if champion is None or challenger is None:
        report["reason"] = f"no {kind} champion and challenger pair"
        return report
    names = {f"{kind}:{champion.version}": "champion", f"{kind}:{challenger.version}": "challenger"}
    query = select(Decision.inputs, Decision.version, Decision.score, Decision.outcome).where(
        Decision.kind == kind, Decision.outcome_final.is_(True), Decision.version.in_(list(names))
    )
    turns: dict[str, dict[str, Any]] = {}
    for inputs, version, score, outcome in (await session.execute(query)).all():
        pair = (inputs or {}).get("pair")
        label = outcome_label(outcome)
        if pair is None or label is None or score is None:
            continue
        turns.setdefault(pair, {"y": label})[names[version]] = score
    complete = [t for t in turns.values() if "champion" in t and "challenger" in t]
    report["n"] = len(complete)
    if len(complete) < settings.challenger_min_outcomes:
        report["reason"] = (
            f"{len(complete)} turns scored by both with a final outcome; "
            f"{settings.challenger_min_outcomes} needed"
        )
        return report
    y = np.array([t["y"] for t in complete])
    report["positives"] = int(y.sum())
    if y.min() == y.max():
        report["reason"] = "every logged outcome is the same, so neither model's ranking can be measured"
        return report
    champion_scores = np.array([t["champion"] for t in complete])
    challenger_scores = np.array([t["challenger"] for t in complete])
    # In a thread: the resamples are CPU work that must not hold up the event loop's other requests.
    report |= await asyncio.to_thread(
        paired_auc_lift, y, champion_scores, challenger_scores, settings.challenger_bootstrap
    )
    low = report["ci95"][0]
    report["passed"] = bool(low is not None and low > 0)
    if not report["passed"]:
        report["reason"] = (
            f"lift {report['lift']:+.4f} ROC-AUC, 95 % interval [{low:+.4f}, {report['ci95'][1]:+.4f}] "
            "does not lie above 0"
        )
    return json_safe(report)
