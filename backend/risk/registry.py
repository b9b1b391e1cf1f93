"""The model registry: register versions, the promotion gate, rollback, and loading artifacts.

Lifecycle: a trained model is registered as a `candidate`. Promotion makes it the one `production` version of
its kind and retires the one it replaces (remembered in `replaces_id`). Rollback retires the production
version and restores the one it replaced, so repeated rollbacks walk back through the promotion history.

The promotion gate: the candidate must beat production on the SAME rows and the SAME metric, namely
ROC-AUC on the candidate's own hold-out (stored in its artifact), with both models scoring those rows, by
more than `promotion_min_auc_gain`. Comparing each model's figure on its own hold-out would compare
different data. The production model may have been trained on some of those rows, which can only flatter
production: the gate errs on the side of keeping what works. A candidate whose features production cannot
read (another schema) is refused, since there is no common measurement. ROC-AUC is the metric because it
ranks customers and conversations independently of the threshold and the calibration (the thresholds are
configuration and change without retraining).

Two more gates: a version whose fairness audit (backend/risk/fairness.py, stored at registration) is flagged
is refused unless an admin gives a reason (audited as `model.fairness_override`); a challenger
(backend/risk/challenger.py) is refused without a measured lift on logged outcomes. Hand-off policy versions
(kind `handoff`) live in the same table but are promoted only by ml/handoff_promotion.py, on the same kind
of evidence: a lift on held-out logged labels whose 95 % bootstrap interval lies above 0.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.core.database import utcnow
from backend.risk.jsonsafe import json_safe
from backend.risk.models import ModelVersion

if TYPE_CHECKING:
    from backend.risk.artifact import RiskModel


class RegistryError(Exception):
    """Base of the registry's refusals; the message is meant for the caller."""


class VersionNotFound(RegistryError):
    pass


class PromotionRefused(RegistryError):
    def __init__(self, reason: str, comparison: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.comparison = comparison or {}


class FairnessFlagged(PromotionRefused):
    """The version's fairness audit found a gap over the bound; an admin may override it with a reason."""


class NothingToRollBack(RegistryError):
    pass


class ArtifactMissing(RegistryError):
    pass


_loaded: dict[tuple[str, int], RiskModel] = {}  # artifacts are immutable once written: cache by path


def load(model_dir: Path, version: Version) -> RiskModel:
    if not version.artifact_path:
        raise ArtifactMissing(f"model version {version.id} has no artifact")
    path = model_dir / version.artifact_path
    key = (str(path), version.id)
    if key not in _loaded:
        from backend.risk import artifact  # scikit-learn loads on first use, not when the app imports this

        try:
            _loaded[key] = artifact.load(path)
        except FileNotFoundError as exc:
            raise ArtifactMissing(
                f"the artifact of model version {version.id} is missing ({path}); retrain or restore it"
            ) from exc
    return _loaded[key]


async def get(session: AsyncSession, version_id: int) -> ModelVersion:
    version = await session.get(ModelVersion, version_id)
    if version is None:
        raise VersionNotFound(f"no model version {version_id}")
    return version


async def production(session: AsyncSession, kind: str) -> ModelVersion | None:
    query = select(ModelVersion).where(ModelVersion.kind == kind, ModelVersion.status == "production")
    return (await session.execute(query.order_by(ModelVersion.id.desc()))).scalars().first()


@dataclass(frozen=True)
class ServedVersion:
    """The columns of a serving `ModelVersion` that scoring reads, as a plain value: every scored turn reads
    them, and loading ORM objects (identity map, instance state) cost more CPU than the query."""

    id: int
    kind: str
    version: str
    status: str
    artifact_path: str | None


# What scoring takes: a version as the registry's queries load it, or as `serving` reads it.
Version = ModelVersion | ServedVersion


@dataclass(frozen=True)
class Serving:
    """The versions that score live traffic, read in one query: each kind's production version and its
    challenger (backend/risk/challenger.py), the newest of each, as `production` and `challenger.current`
    pick them."""

    versions: dict[tuple[str, str], ServedVersion]

    def production(self, kind: str) -> ServedVersion | None:
        return self.versions.get((kind, "production"))

    def challenger(self, kind: str) -> ServedVersion | None:
        return self.versions.get((kind, "challenger"))


# Built once: every scored turn runs it, and building it cost more CPU than SQLAlchemy's cached compilation.
# Not the metrics and drift bins (about 10 KB of JSON each), which scoring does not read.
_VERSIONS = ModelVersion.__table__
_SERVING = (
    select(*(_VERSIONS.c[field.name] for field in fields(ServedVersion)))
    .where(_VERSIONS.c.status.in_(("production", "challenger")))
    .order_by(_VERSIONS.c.id.desc())
)


async def serving(session: AsyncSession) -> Serving:
    """One query instead of one per kind and status: a turn's scoring needs up to three of them."""
    versions: dict[tuple[str, str], ServedVersion] = {}
    for row in await session.execute(_SERVING):
        versions.setdefault((row.kind, row.status), ServedVersion(*row))
    return Serving(versions)


async def list_versions(
    session: AsyncSession, kind: str | None, limit: int, offset: int
) -> list[ModelVersion]:
    query = select(ModelVersion).order_by(ModelVersion.id.desc()).limit(limit).offset(offset)
    if kind is not None:
        query = query.where(ModelVersion.kind == kind)
    return list((await session.execute(query)).scalars())


async def register(
    session: AsyncSession, model: RiskModel, fingerprint: str, model_dir: Path, actor: str = "system"
) -> ModelVersion:
    """Save the artifact and add a candidate version of `model.kind`, with its fairness audit."""
    count = await session.scalar(select(func.count(ModelVersion.id)).where(ModelVersion.kind == model.kind))
    name = f"v{(count or 0) + 1}"
    relative = Path(model.kind) / f"{name}-{fingerprint[:12]}.joblib"
    from backend.risk import artifact

    artifact.save(model, model_dir / relative)
    version = ModelVersion(
        kind=model.kind,
        version=name,
        status="candidate",
        data_fingerprint=fingerprint,
        metrics=json_safe({**model.metrics, "fairness": fairness_of(model)}),
        artifact_path=relative.as_posix(),
        drift_reference=json_safe(model.drift_reference),
        created_at=utcnow(),
    )
    session.add(version)
    await session.flush()
    audit.record(session, actor, "model.register", "model_version", version.id, after=_summary(version))
    await session.commit()
    return version


FAIRNESS_THRESHOLDS = {"churn": "churn_high_threshold", "escalation": "escalation_threshold"}
# Kinds whose versions are rows here but are measured and promoted elsewhere (they have no risk artifact).
PROMOTED_ELSEWHERE = {
    "handoff": "hand-off policies are promoted by `make train-handoff`, which measures them on held-out "
    "logged labels (ml/handoff_promotion.py)",
}


def fairness_of(model: RiskModel) -> dict[str, Any] | None:
    """The hold-out fairness audit (backend/risk/fairness.py) under today's settings; None for a kind that
    decides nothing about CRM customers (a `churn_csv` export)."""
    if model.kind not in FAIRNESS_THRESHOLDS:
        return None
    from backend.core.config import get_settings
    from backend.risk import fairness  # fairlearn loads with the first audit, not with the app

    settings = get_settings()
    threshold = getattr(settings, FAIRNESS_THRESHOLDS[model.kind])
    return fairness.holdout_audit(
        model,
        threshold,
        settings.fairness_max_gap,
        settings.fairness_min_group,
        settings.gated_fairness_metrics,
    )


async def reaudit(session: AsyncSession, version_id: int, model_dir: Path, actor: str) -> ModelVersion:
    """Recompute a version's hold-out fairness audit (after a change of threshold or bound); audited."""
    version = await get(session, version_id)
    before = (version.metrics or {}).get("fairness")
    after = fairness_of(load(model_dir, version))
    version.metrics = {**(version.metrics or {}), "fairness": after}
    audit.record(
        session,
        actor,
        "model.fairness_audit",
        "model_version",
        version.id,
        before={"flagged": (before or {}).get("flagged")},
        after={"flagged": (after or {}).get("flagged"), "violations": (after or {}).get("violations")},
    )
    await session.commit()
    return version


def fairness_gate(version: ModelVersion, override_reason: str | None) -> dict[str, Any] | None:
    """Refuse a flagged version unless an admin gave a reason; returns the override to audit, if any."""
    report = (version.metrics or {}).get("fairness") or {}
    if not report.get("flagged"):
        return None
    if not (override_reason and override_reason.strip()):
        raise FairnessFlagged(
            "the fairness audit flagged this version: "
            + "; ".join(report.get("violations") or [])
            + ". An admin may promote it anyway with a reason (fairness_override).",
            {"fairness": {"flagged": True, "violations": report.get("violations")}},
        )
    return {"reason": override_reason.strip(), "violations": report.get("violations")}


def gate(candidate: RiskModel, current: RiskModel, min_gain: float) -> dict[str, Any]:
    """Both models on the candidate's hold-out rows; see the module docstring."""
    candidate_auc = candidate.holdout_auc(candidate)
    production_auc = candidate.holdout_auc(current)
    comparison = {
        "metric": "roc_auc",
        "rows": "the candidate's hold-out",
        "n": len(candidate.holdout_y),
        "candidate": candidate_auc,
        "production": production_auc,
        "min_gain": min_gain,
    }
    if production_auc is None:
        comparison["passed"] = False
        comparison["reason"] = "the production model reads other features, so the two cannot be compared"
        return comparison
    comparison["passed"] = bool(candidate_auc is not None and candidate_auc > production_auc + min_gain)
    if not comparison["passed"]:
        comparison["reason"] = (
            f"the candidate's hold-out ROC-AUC {candidate_auc:.4f} does not beat production's "
            f"{production_auc:.4f} on the same rows by more than {min_gain:g}"
        )
    return comparison


async def promote(
    session: AsyncSession,
    version_id: int,
    model_dir: Path,
    min_gain: float,
    actor: str,
    fairness_override: str | None = None,
    challenger_check: dict[str, Any] | None = None,
) -> tuple[ModelVersion, dict[str, Any] | None]:
    """Make a version production if it passes the gates; raises PromotionRefused with the reason if not.

    Gates, in order: the fairness audit (overridable by an admin with a reason, audited), the hold-out
    ROC-AUC gate, and for a challenger the lift on logged outcomes (`challenger_check`, measured by
    backend/risk/challenger.py, which the caller passes so this module stays free of the decision log).
    """
    version = await get(session, version_id)
    if version.kind in PROMOTED_ELSEWHERE:
        raise PromotionRefused(PROMOTED_ELSEWHERE[version.kind])
    if version.status == "production":
        raise PromotionRefused(f"model version {version_id} is already in production")
    override = fairness_gate(version, fairness_override)
    if version.status == "challenger" and not (challenger_check or {}).get("passed"):
        raise PromotionRefused(
            (challenger_check or {}).get("reason") or "a challenger needs a measured lift on logged outcomes",
            {"challenger": challenger_check},
        )
    current = await production(session, version.kind)
    comparison = None
    # The audit event's "before" is the production version this one replaces, as it was.
    replaced = _summary(current) if current is not None else None
    if current is not None:
        comparison = gate(load(model_dir, version), load(model_dir, current), min_gain)
        if not comparison["passed"]:
            raise PromotionRefused(comparison["reason"], comparison)
        current.status = "retired"
    _make_production(version, replaces=current)
    version.metrics = {**version.metrics, "promotion": json_safe(comparison)}
    if challenger_check is not None:
        version.metrics = {**version.metrics, "challenger_lift": json_safe(challenger_check)}
    if override is not None:
        version.metrics = {**version.metrics, "fairness_override": {**override, "by": actor}}
        audit.record(
            session,
            actor,
            "model.fairness_override",
            "model_version",
            version.id,
            before={"flagged": True, "violations": override["violations"]},
            after={"reason": override["reason"]},
        )
    audit.record(
        session, actor, "model.promote", "model_version", version.id, before=replaced, after=_summary(version)
    )
    await session.commit()
    return version, comparison


async def rollback(session: AsyncSession, kind: str, actor: str) -> ModelVersion:
    """Retire the production version of `kind` and restore the version it replaced."""
    current = await production(session, kind)
    if current is None:
        raise NothingToRollBack(f"there is no production {kind} model")
    if current.replaces_id is None:
        raise NothingToRollBack(
            f"{kind} {current.version} is the first production version: nothing to restore"
        )
    previous = await get(session, current.replaces_id)
    current.status = "retired"
    await session.flush()  # one production row at a time, even inside the transaction
    previous.status = "production"
    previous.promoted_at = utcnow()
    audit.record(
        session,
        actor,
        "model.rollback",
        "model_version",
        previous.id,
        before=_summary(current),
        after=_summary(previous),
    )
    await session.commit()
    return previous


def _make_production(version: ModelVersion, replaces: ModelVersion | None) -> None:
    version.status = "production"
    version.promoted_at = utcnow()
    version.replaces_id = replaces.id if replaces is not None else None


def _summary(version: ModelVersion) -> dict[str, Any]:
    return {
        "kind": version.kind,
        "version": version.version,
        "status": version.status,
        "roc_auc": (version.metrics or {}).get("roc_auc"),
    }
