"""Evaluate the risk models and write var/eval/risk.json. Run: python -m scripts.eval_risk (make eval-risk).

1. Churn on the public IBM Telco CSV (the generic trainer, as `train_churn --csv` runs it): both models'
   ROC-AUC, PR-AUC, Brier score and calibration deciles on the stratified hold-out (seed 7), then the same
   ROC-AUC over five more seeded splits, because one split of 7,043 rows moves the figure by +-0.01.
2. Escalation on a held-out part of the simulated history (whole conversations held out): ROC-AUC, and
   precision/recall at the operating threshold (`escalation_threshold`), per turn and per conversation, for
   the model alone and with the guardrails.
3. The first CRM churn model (simulated customers, Telco-fitted priors), for reference.
4. The fairness audit of the escalation and CRM churn models of 2 and 3 (backend/risk/fairness.py,
   fairlearn MetricFrame) on their hold-outs with true simulated labels: selection rate, precision and
   recall (and the calibration error, the gated metric) by plan and tenure band (churn) or value band
   (escalation), the gap and ratio per metric, and
   whether the registry would flag the version (`FAIRNESS_MAX_GAP`, `FAIRNESS_MIN_GROUP`). Simulated data:
   it checks the audit and the models' behaviour on the simulator, not on customers;
   `GET /api/v1/models/fairness/logged` audits served scores against what happened.
Nothing is registered.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from backend.core.config import get_settings
from backend.risk import fairness, rules
from ml.risk import simulator, tabular, training
from ml.risk.training import ESCALATION_SCHEMA
from scripts.paths import SHARED_DATA, VAR

TELCO = SHARED_DATA / "telco_churn" / "telco_customer_churn.csv"
SEED = 7
EXTRA_SEEDS = (1, 2, 3, 4, 5)
CONVERSATIONS = 4000


def telco() -> dict[str, Any]:
    if not TELCO.is_file():
        print(f"Telco CSV not found at {TELCO}; set SUPPORTDESK_SHARED_DATA")
        return {"available": False}
    started = time.perf_counter()
    trained = training.churn_from_csv(TELCO, "Churn", "customerID", seed=SEED)
    print(f"== Telco churn (generic trainer, stratified 80/20 hold-out, seed {SEED})")
    print(training.report(trained.result))
    figures = {name: c.holdout for name, c in trained.result.candidates.items()}
    repeats = repeated_splits()
    return {
        "available": True,
        "seed": SEED,
        "serves": trained.result.chosen,
        "holdout": figures,
        "cv_roc_auc": {name: c.cv_roc_auc for name, c in trained.result.candidates.items()},
        "repeated_splits": repeats,
        "seconds": round(time.perf_counter() - started, 1),
    }


def repeated_splits() -> dict[str, Any]:
    X, y = training.read_csv(TELCO, "Churn", "customerID")
    schema = tabular.infer_schema(X)
    scores: dict[str, list[float]] = {"gbm": [], "logistic": []}
    for seed in EXTRA_SEEDS:
        result = tabular.train(X, y, schema, seed=seed, folds=3)
        for name, candidate in result.candidates.items():
            scores[name].append(candidate.holdout["roc_auc"])
    print(f"\nROC-AUC over {len(EXTRA_SEEDS)} more stratified splits (seeds {list(EXTRA_SEEDS)}):")
    summary = {}
    for name, values in scores.items():
        summary[name] = {
            "seeds": list(EXTRA_SEEDS),
            "roc_auc": values,
            "mean": round(float(np.mean(values)), 4),
            "min": min(values),
            "max": max(values),
        }
        print(f"  {name:<9} mean {np.mean(values):.4f}  min {min(values):.4f}  max {max(values):.4f}")
    return summary


def precision_recall(y: np.ndarray, decided: np.ndarray) -> dict[str, float]:
    true_positive = float(np.sum(decided & (y == 1)))
    return {
        "precision": round(true_positive / max(decided.sum(), 1), 4),
        "recall": round(true_positive / max((y == 1).sum(), 1), 4),
        "escalated_share": round(float(decided.mean()), 4),
    }


def escalation(threshold: float) -> dict[str, Any]:
    history = simulator.escalation_history(CONVERSATIONS, SEED)
    trained = training.train_frame(
        history.X,
        history.y,
        "escalation",
        {"type": "simulated"},
        ESCALATION_SCHEMA,
        SEED,
        groups=history.groups,
    )
    result = trained.result
    settings = get_settings()
    audit = fairness.holdout_audit(
        trained.model,
        threshold,
        settings.fairness_max_gap,
        settings.fairness_min_group,
        settings.gated_fairness_metrics,
    )
    test = result.split.test
    y, X, groups = history.y[test], history.X.iloc[test], history.groups[test]
    scores = result.best.holdout_scores
    guarded = np.array([bool(rules.triggered(row)) for row in X.to_dict("records")])
    by_model = scores >= threshold
    figures = {
        "conversations": CONVERSATIONS,
        "holdout_rows": len(y),
        "holdout_conversations": len(np.unique(groups)),
        "serves": result.chosen,
        "threshold": threshold,
        "holdout": {name: c.holdout for name, c in result.candidates.items()},
        "per_turn": {
            "model": precision_recall(y, by_model),
            "model_and_guardrails": precision_recall(y, by_model | guarded),
        },
        "per_conversation": per_conversation(y, by_model | guarded, groups),
        "fairness": audit,
    }
    print(
        f"\n== Escalation (simulated, {CONVERSATIONS} conversations, seed {SEED}; held out by conversation)"
    )
    print(training.report(result))
    print(f"\nat the operating threshold {threshold}:")
    for name, pr in figures["per_turn"].items():
        print(f"  per turn, {name:<21} precision {pr['precision']:.3f}  recall {pr['recall']:.3f}")
    pr = figures["per_conversation"]
    print(f"  per conversation (any turn)  precision {pr['precision']:.3f}  recall {pr['recall']:.3f}")
    print_fairness("escalation (simulated hold-out)", audit)
    return figures


def print_fairness(title: str, report: dict[str, Any]) -> None:
    print(
        f"\n== Fairness: {title}, {report['n']} rows, threshold {report['threshold']}, "
        f"bound {report['max_gap']} on {', '.join(report['gated_attributes']) or 'no gated attribute'}"
    )
    for name, attribute in report["attributes"].items():
        print(
            f"  {name:<12} {'group':<10} {'n':>5} {'selected':>9} {'precision':>10} {'recall':>8} "
            f"{'calib.':>7}"
        )
        for group, g in attribute["groups"].items():
            cells = [_f(g.get(m)) for m in (*fairness.METRICS, fairness.CALIBRATION)]
            print(
                f"  {'':<12} {group:<10} {g['n']:>5} {cells[0]:>9} {cells[1]:>10} {cells[2]:>8} {cells[3]:>7}"
            )
        for metric, m in attribute["metrics"].items():
            print(
                f"  {'':<12} {metric:<17} gap {_f(m['difference'])}  ratio {_f(m['ratio'])}  "
                f"gap among supported groups {_f(m['gated_gap'])}{'  (gated)' if m['gated'] else ''}"
            )
    print("  flagged: " + ("; ".join(report["violations"]) if report["flagged"] else "no"))


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def per_conversation(y: np.ndarray, decided: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """A conversation counts as escalated by us if any of its turns was; its label is its outcome."""
    ids = np.unique(groups)
    outcome = np.array([y[groups == g][0] for g in ids])
    flagged = np.array([decided[groups == g].any() for g in ids])
    return precision_recall(outcome, flagged)


def crm_churn() -> dict[str, Any]:
    trained = training.churn_from_simulation(2000, SEED, TELCO)
    print("\n== First CRM churn model (simulated customers, Telco-fitted priors; what bootstrap installs)")
    print(training.report(trained.result))
    settings = get_settings()
    audit = fairness.holdout_audit(
        trained.model,
        settings.churn_high_threshold,
        settings.fairness_max_gap,
        settings.fairness_min_group,
        settings.gated_fairness_metrics,
    )
    print_fairness("first CRM churn model (simulated hold-out)", audit)
    return {
        "serves": trained.result.chosen,
        "holdout": {name: c.holdout for name, c in trained.result.candidates.items()},
        "source": trained.model.metrics["source"],
        "fairness": audit,
    }


def main() -> None:
    settings = get_settings()
    results = {
        "telco_churn": telco(),
        "escalation": escalation(settings.escalation_threshold),
        "crm_churn_simulated": crm_churn(),
    }
    out = VAR / "eval" / "risk.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=float))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
