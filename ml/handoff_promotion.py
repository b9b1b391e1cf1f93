"""Hand-off policy versions in the model registry, and the served policy file that follows its production row.

ml/decision_labels.py measures a candidate fitted from the decision log against the served policy; this
module records what that measurement decided, the way the registry does for the risk models:

- every hand-off policy that served or was measured is a `model_versions` row of kind `handoff` (named v1,
  v2, ... like the registry's); its `metrics` name the policy, its file, its fit and its gate;
- the served policy (HANDOFF_MODEL_PATH: a dev fit linked by `make model`, or the rules when there is none)
  is entered as the production row the first time it is met, so a promotion always names what it replaced
  and a later reader can walk back through `replaces_id`;
- a promotion retires that row, makes the candidate production, relinks the served file atomically and is
  audited (`model.promote`, with both F1s and the interval); a refused candidate stays a candidate with its
  gate stored, its file kept for inspection.

The rows carry no `artifact_path` (the registry's artifacts are scikit-learn risk models), and the registry's
own promote refuses the `handoff` kind (backend/risk/registry.py): only this measured path promotes one.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.core.database import utcnow
from backend.handoff.policy import HandoffPolicy, LearntPolicy
from backend.risk import registry
from backend.risk.jsonsafe import json_safe
from backend.risk.models import ModelVersion
from ml import handoff

KIND = "handoff"
ACTOR = "system:train-handoff"


def policy_file(policy: LearntPolicy, served: Path) -> Path:
    return served.parent / "handoff-policies" / f"decisions-{policy.version}.json"


def write_policy(
    policy: LearntPolicy, gate: dict[str, Any], served: Path, promoted_at: datetime | None
) -> Path:
    """The candidate's file beside the served path. A promoted one records the dev inputs' hash of the
    moment, which `make model` reads to keep it (ml/handoff.py `promoted_to_keep`)."""
    extra: dict[str, Any] = {"trained_on": "decision log", "gate": gate}
    if promoted_at is not None:
        extra["promotion"] = {"at": promoted_at.isoformat(), "dev_key": handoff.dev_key()}
    target = policy_file(policy, served)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(policy.to_json(extra), indent=1))
    return target


async def _add(session: AsyncSession, status: str, fingerprint: str, metrics: dict[str, Any]) -> ModelVersion:
    count = await session.scalar(select(func.count(ModelVersion.id)).where(ModelVersion.kind == KIND))
    version = ModelVersion(
        kind=KIND,
        version=f"v{(count or 0) + 1}",
        status=status,
        data_fingerprint=fingerprint[:64],
        metrics=json_safe(metrics),
        artifact_path=None,
        created_at=utcnow(),
        promoted_at=utcnow() if status == "production" else None,
    )
    session.add(version)
    await session.flush()
    audit.record(session, ACTOR, "model.register", "model_version", version.id, after=summary(version))
    return version


async def served_version(session: AsyncSession, champion: HandoffPolicy, served: Path) -> ModelVersion:
    """The production row of the policy serving now. Entered when the registry does not name it yet: the
    first run, or `make model` relinked a new dev fit since (the row it replaces is then retired)."""
    current = await registry.production(session, KIND)
    if current is not None and (current.metrics or {}).get("policy") == champion.name:
        return current
    if current is not None:
        current.status = "retired"
        await session.flush()  # one production row of a kind at a time, even inside the transaction
    metrics = {"policy": champion.name, "policy_file": _file_behind(served), "entered": "found serving"}
    version = await _add(session, "production", champion.name, metrics)
    version.replaces_id = current.id if current is not None else None
    return version


def _file_behind(served: Path) -> str | None:
    """The file the served link points at (None: no file, the rules serve)."""
    return str(served.resolve()) if served.exists() else None


async def register_candidate(
    session: AsyncSession, policy: LearntPolicy, target: Path, fit: dict[str, Any], gate: dict[str, Any]
) -> ModelVersion:
    metrics = {"policy": policy.name, "policy_file": str(target), "fit": fit, "gate": gate}
    return await _add(session, "candidate", policy.version, metrics)


async def promote(
    session: AsyncSession, candidate: ModelVersion, current: ModelVersion, target: Path, served: Path
) -> None:
    """Candidate to production in place of `current`, the served file relinked, audited; one commit."""
    before = summary(current)
    current.status = "retired"
    await session.flush()
    candidate.status = "production"
    candidate.promoted_at = utcnow()
    candidate.replaces_id = current.id
    after = summary(candidate) | {"gate": (candidate.metrics or {}).get("gate")}
    audit.record(session, ACTOR, "model.promote", "model_version", candidate.id, before=before, after=after)
    # Relinked before the commit: if the link fails, the registry is not left naming a policy that
    # does not serve.
    handoff.link(target, served)
    await session.commit()


def summary(version: ModelVersion) -> dict[str, Any]:
    gate = (version.metrics or {}).get("gate") or {}
    return {
        "kind": version.kind,
        "version": version.version,
        "status": version.status,
        "policy": (version.metrics or {}).get("policy"),
        "held_out_f1": gate.get("candidate_f1"),
    }
