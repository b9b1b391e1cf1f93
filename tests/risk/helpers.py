"""Small trained models shared by the risk tests (trained once per test session), and installing them."""

from functools import cache
from pathlib import Path

from backend.core.config import to_async_url
from backend.core.database import make_engine, make_sessionmaker
from backend.risk import registry
from backend.risk.tabular import FeatureSchema
from ml.risk import simulator, training
from ml.risk.training import CHURN_SCHEMA, Trained

# A deliberately poor churn model: it only knows the plan (and its price), not contract, tenure or support.
WEAK_SCHEMA = FeatureSchema(("monthly_charge",), ("plan",))
# Blind to behaviour, it under-scores the troubled customer segment of its hold-out (calibration error -0.19
# against +0.01 elsewhere: gap 0.201 over the 0.2 bound), so its audit is flagged by segment and installing it
# as production takes an admin's reason, as it would in the app (tests/risk/test_fairness.py checks the flag).
WEAK_OVERRIDE = "test fixture: the plan-only model, flagged by segment, stands in as a poor production model"


@cache
def churn_data() -> simulator.History:
    return simulator.churn_history(900, seed=11)


@cache
def churn_models() -> tuple[Trained, Trained]:
    """(full, weak) churn models on the same simulated customers and the same hold-out."""
    history = churn_data()
    source = {"type": "simulated", "customers": 900}
    full = training.train_frame(history.X, history.y, "churn", source, CHURN_SCHEMA, seed=7, folds=3)
    weak = training.train_frame(history.X, history.y, "churn", source, WEAK_SCHEMA, seed=7, folds=3)
    return full, weak


@cache
def escalation_model() -> Trained:
    return training.escalation_from_simulation(900, seed=7, folds=3)


async def install(
    database_url: str,
    trained: Trained,
    model_dir: Path,
    promote: bool = True,
    fairness_override: str | None = None,
) -> int:
    """Register `trained` (and promote it through the gates if asked, with an admin's fairness override if
    given); returns the version id."""
    engine = make_engine(to_async_url(database_url))
    try:
        async with make_sessionmaker(engine)() as session:
            version = await registry.register(session, trained.model, trained.fingerprint, model_dir, "test")
            if promote:
                await registry.promote(
                    session, version.id, model_dir, 0.0, "test", fairness_override=fairness_override
                )
            return version.id
    finally:
        await engine.dispose()
