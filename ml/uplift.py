"""Uplift model for retention offers: which offer, if any, to make to a customer who asks to cancel.

    python -m ml.uplift                       # seeded simulation: train, choose on dev, report on test
    python -m ml.uplift --from-decisions      # the retention experiment's logged assignments and outcomes

Model: a T-learner (one classifier per arm: P(still subscribed after 30 days | churn features, arm)),
hand-rolled with scikit-learn. causalml installs, but brings xgboost with a 350 MB CUDA NCCL wheel, lightgbm,
numba, shap and matplotlib into the app venv the web app runs from, for a T-learner that is a few lines on
top of scikit-learn; scikit-uplift's last release is from 2022. The base learner (gradient boosting or a
logistic regression) is chosen on the dev split by Qini coefficient, and reported once on the test split.

Policy: for each customer and offer k, uplift_k(x) = P(stay | x, k) - P(stay | x, control), and
    value_k(x) = uplift_k(x) * CLV(x) - cost_k * monthly_charge * P(stay | x, k)
(the offer's cost is paid by those who stay). The policy makes the offer with the highest value, and none
where that value or the offer's uplift is <= 0. Offers and costs: backend/experiments/offers.py.

Data. The only randomised outcomes this project has are simulated: `simulate` below, seeded. Customers
come from the churn simulator (ml/risk/simulator.py: the same CRM records and feature functions as live
scoring), with its hidden mood. Their 30-day churn without an offer follows that simulator's churn story
(intercept set to a 45% rate: these customers asked to cancel). Each offer lowers the churn probability by
an effect built from traits the features never see:
    price sensitivity  s = sigmoid(0.6 * charge_z + N(0, 1))   (partly visible through the monthly charge)
    drifting away      a = sigmoid(0.03 * (days_since_activity - 30) + N(0, 1))
    sleeping dog       d ~ Bernoulli(0.05 + 0.15 * long tenure): an offer reminds them to leave (+6 points)
    discount_3m  tau = p0 * 0.45 * s;   free_month tau = p0 * (0.15 + 0.2 * s);   pause_2m tau = p0 * 0.5 * a
so the model has to learn noisy, partly hidden effects from Bernoulli outcomes, and the true effects are
never a function of the features alone. Every figure from it is on simulated outcomes (docs/benchmarks.md).
With --from-decisions the same pipeline runs on the retention experiment's logged assignments (the churn
features stored in each decision row, the arm, still_subscribed_30d joined from the CRM); the simulation's
true-effect figures are then not available and are not printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from backend.core.config import get_settings
from backend.experiments.offers import CONTROL, OFFERS
from backend.experiments.policy import Choice, choose, design
from backend.experiments.stats import newcombe

ARMS = (CONTROL, *OFFERS)
SEED = 18
MIN_ROWS = 400  # logged units needed before --from-decisions trains
HORIZON, DISCOUNT = 36, 0.01
# Monthly retention per contract: ml/clv.py's fit on the Telco data, fixed so the simulation needs no CSV.
RETENTION = {"month-to-month": 0.9761, "one-year": 0.9973, "two-year": 0.9995}
REPORT = Path("var/eval/uplift.json")


# ------------------------------------------------------------------------------------------ data


@dataclass
class Units:
    X: pd.DataFrame  # churn features (numeric + categorical)
    arm: np.ndarray  # the randomised arm of each unit
    stayed: np.ndarray  # 1: still subscribed after 30 days
    clv: np.ndarray
    charge: np.ndarray
    true_effect: dict[str, np.ndarray] | None = None  # simulation only: churn reduction per offer
    true_baseline: np.ndarray | None = None

    def take(self, index: np.ndarray) -> Units:
        effects = None if self.true_effect is None else {k: v[index] for k, v in self.true_effect.items()}
        base = None if self.true_baseline is None else self.true_baseline[index]
        return Units(
            self.X.iloc[index].reset_index(drop=True), self.arm[index], self.stayed[index],
            self.clv[index], self.charge[index], effects, base,
        )  # fmt: skip


def clv_of(charge: np.ndarray, contract: pd.Series) -> np.ndarray:
    months = np.arange(1, HORIZON + 1)
    retention = contract.map(RETENTION).fillna(min(RETENTION.values())).to_numpy(dtype=float)
    annuity = (retention[:, None] ** months / (1 + DISCOUNT) ** months).sum(axis=1)
    return charge * annuity


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def simulate(n: int, seed: int = SEED) -> Units:
    """Randomised retention offers with known true effects (module docstring)."""
    from ml.risk.simulator import (  # the churn simulator's customers and churn story
        DEFAULT_PRIORS,
        NOW,
        _churn_logit,
        _customer_snapshot,
        _intercept,
        churn_features,
    )

    rng = np.random.default_rng(seed)
    pairs = [_customer_snapshot(rng) for _ in range(n)]
    X = pd.DataFrame([churn_features(snapshot, NOW) for snapshot, _ in pairs])
    logit = _churn_logit(X, np.array([mood for _, mood in pairs]), DEFAULT_PRIORS)
    p0 = _sigmoid(logit + _intercept(logit, 0.45))
    charge = X["monthly_charge"].to_numpy(dtype=float)
    charge_z = (charge - charge.mean()) / charge.std()
    sensitive = _sigmoid(0.6 * charge_z + rng.normal(0, 1, n))
    days = X["days_since_activity"].fillna(30).to_numpy(dtype=float)
    drifting = _sigmoid(0.03 * (days - 30) + rng.normal(0, 1, n))
    long_tenure = (X["tenure_months"].to_numpy(dtype=float) > 24).astype(float)
    sleeping = rng.random(n) < 0.05 + 0.15 * long_tenure
    effect = {
        "discount_3m": p0 * 0.45 * sensitive,
        "free_month": p0 * (0.15 + 0.2 * sensitive),
        "pause_2m": p0 * 0.5 * drifting,
    }
    effect = {k: np.where(sleeping, -0.06, v) for k, v in effect.items()}
    arm = rng.choice(np.array(ARMS), size=n)
    churn = p0.copy()
    for offer, tau in effect.items():
        churn = np.where(arm == offer, np.clip(p0 - tau, 0.01, 0.99), churn)
    stayed = (rng.random(n) >= churn).astype(int)
    return Units(X, arm, stayed, clv_of(charge, X["contract"]), charge, effect, p0)


async def _logged(url: str, key: str) -> list[dict[str, Any]]:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from backend.decisions.models import Decision
    from backend.experiments.models import Assignment, CustomerValue

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            query = (
                select(Decision.inputs, Assignment.variant, Assignment.outcome, CustomerValue.value)
                .join(Assignment, Assignment.decision_id == Decision.id)
                .outerjoin(CustomerValue, CustomerValue.customer_id == Assignment.customer_id)
                .where(Decision.kind == "retention_offer", Assignment.outcome_final.is_(True))
            )
            found = (await conn.execute(query)).all()
    finally:
        await engine.dispose()
    return [
        {"inputs": i, "variant": v, "outcome": o, "clv": c}
        for i, v, o, c in found
        if i.get("experiment") == key and i.get("features") and o.get("still_subscribed_30d") is not None
    ]


def from_decisions(url: str, key: str, min_rows: int = MIN_ROWS) -> Units:
    """The retention experiment's finished units: features logged at the decision, arm, 30-day outcome."""
    rows = asyncio.run(_logged(url, key))
    if len(rows) < min_rows:
        sys.exit(f"{len(rows)} finished units in experiment {key!r}; need {min_rows} before training")
    X = pd.DataFrame([r["inputs"]["features"] for r in rows])
    charge = np.array([float(r["inputs"].get("monthly_charge") or 0) for r in rows])
    clv = np.array([r["clv"] if r["clv"] is not None else np.nan for r in rows])
    clv = np.where(np.isnan(clv), clv_of(charge, X["contract"]), clv)
    arm = np.array([r["variant"] for r in rows])
    stayed = np.array([int(bool(r["outcome"]["still_subscribed_30d"])) for r in rows])
    return Units(X, arm, stayed, clv, charge)


# ------------------------------------------------------------------------------------------ model


LEARNERS = {
    "boosting": lambda: HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=40, random_state=SEED
    ),
    "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000)),
}


@dataclass
class TLearner:
    learner: str
    models: dict[str, Any] = field(default_factory=dict)

    def fit(self, units: Units) -> TLearner:
        features = design(units.X)
        for arm in ARMS:
            mine = units.arm == arm
            self.models[arm] = LEARNERS[self.learner]().fit(features[mine], units.stayed[mine])
        return self

    def stay(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        features = design(X)
        return {arm: model.predict_proba(features)[:, 1] for arm, model in self.models.items()}


def policy(model: TLearner, units: Units) -> Choice:
    """The served rule (backend/experiments/policy.py) on the model's stay probabilities."""
    return choose(model.stay(units.X), units.clv, units.charge)


def save(model: TLearner, path: Path, version: str) -> None:
    """The policy file the backend reads (UPLIFT_POLICY_PATH)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump({"version": version, "learner": model.learner, "models": model.models}, path)


def churn_ranker(train: Units) -> Any:
    """The 'target the highest churn risk' baseline: churn probability learnt on the control arm."""
    mine = train.arm == CONTROL
    return LEARNERS["boosting"]().fit(design(train.X[mine]), 1 - train.stayed[mine])


# ------------------------------------------------------------------------------------------ evaluation


def qini_curve(score: np.ndarray, treated: np.ndarray, stayed: np.ndarray) -> np.ndarray:
    """Incremental stayers Q(k) = Y_t(k) - Y_c(k) * N_t(k) / N_c(k) among the k highest-scored units,
    divided by the number of units (so the curve ends at the observed average uplift x treated share)."""
    order = np.argsort(-score, kind="stable")
    t, y = treated[order], stayed[order]
    n_t, n_c = np.cumsum(t), np.cumsum(1 - t)
    y_t, y_c = np.cumsum(y * t), np.cumsum(y * (1 - t))
    ratio = np.divide(n_t, n_c, out=np.zeros(len(t)), where=n_c > 0)
    return np.concatenate([[0.0], (y_t - y_c * ratio) / len(t)])


def qini_coefficient(score: np.ndarray, treated: np.ndarray, stayed: np.ndarray) -> float:
    """Area between the Qini curve and the straight line of random targeting to the same end point."""
    curve = qini_curve(score, treated, stayed)
    x = np.linspace(0, 1, len(curve))
    return float(np.trapezoid(curve - x * curve[-1], x))


def uplift_at(score: np.ndarray, treated: np.ndarray, stayed: np.ndarray, fraction: float) -> float:
    """Observed retention of treated minus control among the top `fraction` by score."""
    top = np.argsort(-score, kind="stable")[: max(1, round(fraction * len(score)))]
    t, y = treated[top], stayed[top]
    if t.sum() == 0 or (1 - t).sum() == 0:
        return float("nan")
    return float(y[t == 1].mean() - y[t == 0].mean())


def scores(model: TLearner, churn: Any, units: Units, seed: int) -> dict[str, np.ndarray]:
    return {
        "uplift model": policy(model, units).uplift,
        "highest churn risk": churn.predict_proba(design(units.X))[:, 1],
        "random": np.random.default_rng(seed).random(len(units.arm)),
    }


def ranking_report(model: TLearner, churn: Any, units: Units) -> dict[str, dict[str, float]]:
    treated = (units.arm != CONTROL).astype(int)  # any offer against none
    report = {}
    for name, score in scores(model, churn, units, SEED + 1).items():
        report[name] = {"qini": qini_coefficient(score, treated, units.stayed)} | {
            f"uplift@{int(k * 100)}%": uplift_at(score, treated, units.stayed, k) for k in (0.1, 0.2, 0.3)
        }
    return report


def true_value_report(model: TLearner, churn: Any, train: Units, test: Units) -> dict[str, dict[str, float]]:
    """Simulation only: what each targeting would really gain, from the known effects. The baselines make
    as many offers as the uplift policy, each the single offer with the best observed uplift in training."""
    assert test.true_effect is not None
    chosen = policy(model, test)
    made = chosen.offer != CONTROL
    count = int(made.sum())
    best_single = max(OFFERS, key=lambda k: train.stayed[train.arm == k].mean())
    rng = np.random.default_rng(SEED + 2)
    churn_score = churn.predict_proba(design(test.X))[:, 1]
    picks = {
        "uplift model": (np.flatnonzero(made), chosen.offer[made]),
        "highest churn risk": (np.argsort(-churn_score)[:count], np.full(count, best_single)),
        "random": (rng.choice(len(test.arm), size=count, replace=False), np.full(count, best_single)),
    }
    report = {}
    for name, (who, offer) in picks.items():
        tau = np.array([test.true_effect[k][i] for i, k in zip(who, offer, strict=True)])
        stay_with = 1 - np.clip(test.true_baseline[who] - tau, 0.01, 0.99)  # type: ignore[index]
        cost = np.array([OFFERS[k].cost_months for k in offer]) * test.charge[who] * stay_with
        report[name] = {
            "offers": float(count),
            "retained_per_offer": float(tau.mean()) if count else 0.0,
            "net_value_per_offer": float((tau * test.clv[who] - cost).mean()) if count else 0.0,
        }
    report["uplift model"]["best_single_offer_for_baselines"] = best_single  # type: ignore[assignment]
    return report


def average_effects(units: Units) -> dict[str, dict[str, float]]:
    """Each offer against control (Newcombe 95%), with the true mean effect when simulated."""
    control = units.arm == CONTROL
    found = {}
    for offer in OFFERS:
        mine = units.arm == offer
        ci = newcombe(int(units.stayed[control].sum()), int(control.sum()),
                      int(units.stayed[mine].sum()), int(mine.sum()))  # fmt: skip
        row = {"estimate": ci.estimate, "low": ci.low, "high": ci.high}
        if units.true_effect is not None:
            true = float(units.true_effect[offer].mean())  # the reduction in churn = the rise in staying
            row |= {"true": true, "covered": float(ci.low <= true <= ci.high)}
        found[offer] = row
    return found


def split(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    a, b = int(0.6 * n), int(0.8 * n)
    return order[:a], order[a:b], order[b:]


def run(units: Units) -> dict[str, Any]:
    train_i, dev_i, test_i = split(len(units.arm))
    train, dev, test = units.take(train_i), units.take(dev_i), units.take(test_i)
    churn = churn_ranker(train)
    dev_qini = {}
    for learner in LEARNERS:
        model = TLearner(learner).fit(train)
        dev_qini[learner] = ranking_report(model, churn, dev)["uplift model"]["qini"]
    chosen = max(dev_qini, key=dev_qini.__getitem__)
    model = TLearner(chosen).fit(train)
    made = policy(model, test).offer
    report: dict[str, Any] = {
        "units": {"train": len(train_i), "dev": len(dev_i), "test": len(test_i)},
        "dev_qini_by_learner": dev_qini,
        "learner": chosen,
        "test_ranking": ranking_report(model, churn, test),
        "test_offers_made": {k: int((made == k).sum()) for k in ARMS},
        # The experiment's own readout uses every randomised unit, not a split: no model is chosen on it.
        "average_effects": average_effects(units),
    }
    if units.true_effect is not None:
        report["test_true_value"] = true_value_report(model, churn, train, test)
    return report


def show(report: dict[str, Any], simulated: bool) -> None:
    print(f"units: {report['units']}; base learner chosen on dev by Qini: {report['learner']} "
          f"({', '.join(f'{k} {v:.4f}' for k, v in report['dev_qini_by_learner'].items())})")  # fmt: skip
    where = "simulated outcomes" if simulated else "logged outcomes"
    print(f"\nheld-out test ({where}); treatment = any offer vs none")
    print(f"{'targeting':20s} {'Qini':>8s} {'uplift@10%':>11s} {'uplift@20%':>11s} {'uplift@30%':>11s}")
    for name, row in report["test_ranking"].items():
        print(f"{name:20s} {row['qini']:8.4f} {row['uplift@10%']:11.3f} {row['uplift@20%']:11.3f} "
              f"{row['uplift@30%']:11.3f}")  # fmt: skip
    print(f"\noffers the policy makes on test: {report['test_offers_made']}")
    print("\naverage effect of each offer, all randomised units (stay rate minus control's, Newcombe 95%):")
    for offer, row in report["average_effects"].items():
        truth = (
            f"; true {row['true']:.3f} {'inside' if row['covered'] else 'OUTSIDE'}" if "true" in row else ""
        )
        print(f"  {offer:12s} {row['estimate']:.3f} ({row['low']:.3f} to {row['high']:.3f}){truth}")
    if "test_true_value" in report:
        print("\nwith the simulation's true effects, same number of offers for each targeting:")
        for name, row in report["test_true_value"].items():
            per_offer = f"{row['retained_per_offer']:.3f}"
            net = f"${row['net_value_per_offer']:.2f}"
            print(
                f"  {name:20s} offers {row['offers']:.0f}, retained per offer {per_offer}, "
                f"net value per offer {net}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from-decisions", action="store_true", help="train on the logged experiment")
    parser.add_argument("--units", type=int, default=20_000, help="simulated customers (simulation only)")
    parser.add_argument("--report", type=Path, default=REPORT)
    parser.add_argument("--save", action="store_true", help="with --from-decisions: write UPLIFT_POLICY_PATH")
    args = parser.parse_args(argv)
    if args.save and not args.from_decisions:
        parser.error("--save needs --from-decisions: a policy learnt on simulated outcomes must never serve")
    settings = get_settings()
    if args.from_decisions:
        units = from_decisions(settings.async_database_url, settings.retention_experiment_key)
    else:
        units = simulate(args.units)
    report = run(units) | {"source": "logged decisions" if args.from_decisions else "simulation (seeded)"}
    if args.save:
        version = (
            f"t-learner {report['learner']} on {len(units.arm)} units of {settings.retention_experiment_key}"
        )
        save(TLearner(report["learner"]).fit(units), settings.uplift_policy_path, version)
        print(f"policy saved to {settings.uplift_policy_path} ({version})")
    show(report, simulated=not args.from_decisions)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2, default=float))
    print(f"\nwritten to {args.report}")


if __name__ == "__main__":
    main()
