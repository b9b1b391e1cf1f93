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


async def install(database_url: str, trained: Trained, model_dir: Path, promote: bool = True) -> int:
    """Register `trained` (and promote it through the gate if asked); returns the version id."""
    engine = make_engine(to_async_url(database_url))
    try:
        async with make_sessionmaker(engine)() as session:
            version = await registry.register(session, trained.model, trained.fingerprint, model_dir, "test")
            if promote:
                await registry.promote(session, version.id, model_dir, 0.0, "test")
            return version.id
    finally:
        await engine.dispose()
