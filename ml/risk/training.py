"""Training runs: from a CSV export, from the CRM, or from the simulator; and their printed report.

Kinds: `churn` and `escalation` models read CRM features and serve the app. A CSV whose columns are not
the CRM's churn features (the public Telco export, say) trains a `churn_csv` model: registered, evaluated
and comparable with later versions of the same export, but never used to score CRM customers, whose
features it cannot read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.database import utcnow
from backend.risk import drift, fast
from backend.risk.artifact import RiskModel
from backend.risk.features import (
    CHURN_CATEGORICAL,
    CHURN_FEATURES,
    CHURN_MONOTONE,
    CHURN_NUMERIC,
    ESCALATION_CATEGORICAL,
    ESCALATION_MONOTONE,
    ESCALATION_NUMERIC,
)
from backend.risk.tabular import FeatureSchema, base_estimator
from ml.risk import crm_history, simulator, tabular
from ml.risk.tabular import DataError

CHURN_SCHEMA = FeatureSchema(CHURN_NUMERIC, CHURN_CATEGORICAL, monotone=CHURN_MONOTONE)
ESCALATION_SCHEMA = FeatureSchema(ESCALATION_NUMERIC, ESCALATION_CATEGORICAL, monotone=ESCALATION_MONOTONE)


@dataclass
class Trained:
    model: RiskModel
    fingerprint: str
    result: tabular.TrainResult


def train_frame(
    X: pd.DataFrame,
    y: np.ndarray,
    kind: str,
    source: dict[str, Any],
    schema: FeatureSchema | None = None,
    seed: int = 7,
    test_size: float = 0.2,
    groups: np.ndarray | None = None,
    folds: int = 5,
) -> Trained:
    schema = schema or tabular.infer_schema(X)
    result = tabular.train(X, y, schema, seed=seed, test_size=test_size, groups=groups, folds=folds)
    result.extra["source"] = source
    phrasebook = "crm" if kind in ("churn", "escalation") else "generic"
    model = to_artifact(result, X, y, kind, phrasebook)
    return Trained(model, tabular.fingerprint(X[list(schema.features)], y), result)


def read_csv(path: Path, target: str, id_column: str | None) -> tuple[pd.DataFrame, np.ndarray]:
    """A CSV export as (cleaned features, 0/1 target); rows without a target are left out."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise DataError(f"no such file: {path}") from exc
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not a readable CSV file: {exc}") from exc
    for column, role in ((target, "target"), (id_column, "id")):
        if column is not None and column not in raw.columns:
            raise DataError(f"{role} column {column!r} not in {path.name}; columns: {', '.join(raw.columns)}")
    labelled = raw[~raw[target].str.strip().str.lower().isin(tabular.MISSING)]
    y = tabular.binary_target(labelled[target])
    features = labelled.drop(columns=[c for c in (target, id_column) if c is not None])
    return tabular.clean_frame(features.reset_index(drop=True)), y


def churn_from_csv(
    path: Path,
    target: str,
    id_column: str | None = None,
    seed: int = 7,
    test_size: float = 0.2,
    folds: int = 5,
) -> Trained:
    X, y = read_csv(path, target, id_column)
    crm_columns = set(CHURN_FEATURES) <= set(X.columns)
    kind, schema = ("churn", CHURN_SCHEMA) if crm_columns else ("churn_csv", None)
    source = {"type": "csv", "file": path.name, "target": target, "rows": len(y)}
    return train_frame(X, y, kind, source, schema, seed, test_size, folds=folds)


async def churn_from_db(
    session: AsyncSession, seed: int = 7, now: datetime | None = None, test_size: float = 0.2
) -> Trained:
    X, y, _ = await crm_history.churn_frame(session, now or utcnow())
    if len(y) == 0:
        raise DataError("the CRM has no customers to train on")
    source = {"type": "crm", "label": "customers.status == cancelled", "rows": len(y)}
    return train_frame(X, y, "churn", source, CHURN_SCHEMA, seed, test_size)


def churn_from_simulation(
    n: int = 2500, seed: int = 7, telco_csv: Path | None = None, folds: int = 3
) -> Trained:
    """The first churn model of a new install (ml/risk/simulator.py tells the story)."""
    use_telco = telco_csv is not None and telco_csv.is_file()
    priors = simulator.telco_priors(telco_csv) if use_telco else simulator.DEFAULT_PRIORS
    history = simulator.churn_history(n, seed, priors)
    source = {
        "type": "simulated",
        "customers": n,
        "seed": seed,
        "priors": "fitted on IBM Telco" if use_telco else "simulator.DEFAULT_PRIORS",
        "prior_values": priors,
    }
    return train_frame(history.X, history.y, "churn", source, CHURN_SCHEMA, seed, folds=folds)


def escalation_from_simulation(n: int = 1500, seed: int = 7, folds: int = 3) -> Trained:
    history = simulator.escalation_history(n, seed)
    source = {"type": "simulated", "conversations": n, "seed": seed, "rows": len(history.y)}
    return train_frame(
        history.X,
        history.y,
        "escalation",
        source,
        ESCALATION_SCHEMA,
        seed,
        groups=history.groups,
        folds=folds,
    )


async def escalation_from_db(session: AsyncSession, seed: int = 7) -> Trained:
    X, y, groups = await crm_history.escalation_frame(session)
    if len(y) == 0:
        raise DataError("the CRM has no conversations with an outcome (escalated or resolved) yet")
    source = {"type": "crm", "label": "a case was opened", "rows": len(y), "conversations": len(set(groups))}
    return train_frame(X, y, "escalation", source, ESCALATION_SCHEMA, seed, groups=groups)


# ------------------------------------------------------------------------------------------ the artifact


def to_artifact(
    result: tabular.TrainResult, X: pd.DataFrame, y: np.ndarray, kind: str, phrasebook: str
) -> RiskModel:
    """The saved model (backend/risk/artifact.py) of a training run: the chosen pipeline with its reference
    data, hold-out and compiled scorer."""
    best = result.best
    train_X = X[list(result.schema.features)].iloc[result.split.train]
    with tabular.threadpool_limits(limits=1):
        train_scores = best.estimator.predict_proba(train_X)[:, 1]
    model = RiskModel(
        kind=kind,
        schema=result.schema,
        algorithm=best.algorithm,
        estimator=best.estimator,
        typical=tabular.typical_values(train_X, result.schema),
        marginals=tabular.marginals(train_X, result.schema),
        phrasebook=phrasebook,
        drift_reference=drift.reference_bins(
            train_X, train_scores, result.schema.numeric, result.schema.categorical
        ),
        # Every column, not only this model's: the gate lets production score these rows with its own.
        holdout_X=X.iloc[result.split.test].reset_index(drop=True),
        holdout_y=y[result.split.test],
        metrics=training_metrics(result),
    )
    if best.algorithm == "logistic":
        model.logistic_groups = tabular.logistic_groups(base_estimator(best.estimator), result.schema)
    check = model.holdout_X[list(result.schema.features)]
    model.compiled = fast.compile_scorer(best.algorithm, best.estimator, result.schema, check)
    if isinstance(model.compiled, fast.FastGBM):
        model.compiled.set_marginals(model.marginals)
    return model


def training_metrics(result: tabular.TrainResult) -> dict[str, Any]:
    """What the registry stores: the served model's hold-out figures, and every candidate's for comparison."""
    return {
        "holdout_metric": "roc_auc",
        "algorithm": result.chosen,
        **{k: v for k, v in result.best.holdout.items() if k != "calibration"},
        "calibration": result.best.holdout["calibration"],
        "candidates": {
            name: {"cv_roc_auc": c.cv_roc_auc, **{k: v for k, v in c.holdout.items() if k != "calibration"}}
            for name, c in result.candidates.items()
        },
        "features": {"numeric": list(result.schema.numeric), "categorical": list(result.schema.categorical)},
        "dropped_columns": list(result.schema.dropped),
        "train_rows": len(result.split.train),
        "seed": result.seed,
        **result.extra,
    }


# ------------------------------------------------------------------------------------------ reporting


def report(result: tabular.TrainResult) -> str:
    """Both candidates' hold-out figures and calibration deciles, as plain text."""
    lines = ["model      cv ROC-AUC  ROC-AUC  PR-AUC  Brier   hold-out n  positive rate"]
    for name, c in result.candidates.items():
        h = c.holdout
        mark = "*" if name == result.chosen else " "
        lines.append(
            f"{name + mark:<10} {c.cv_roc_auc:>10.4f}  {h['roc_auc']:>7.4f}  {h['pr_auc']:>6.4f}  "
            f"{h['brier']:>6.4f}  {h['n']:>10}  {h['positive_rate']:>13.4f}"
        )
    lines.append("* serves (best cross-validated ROC-AUC on the training part)")
    for name, c in result.candidates.items():
        lines += ["", f"calibration on the hold-out, {name} (deciles of predicted probability)"]
        lines.append("decile     n  mean predicted  observed")
        lines += [
            f"{r['decile']:>6}  {r['n']:>4}  {r['mean_predicted']:>14.3f}  {r['observed']:>8.3f}"
            for r in c.holdout["calibration"]
        ]
    return "\n".join(lines)
