"""What the risk commands share: a database session outside the app, registering and printing a run."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.database import make_engine, make_sessionmaker
from backend.risk import registry
from backend.risk.models import ModelVersion

if TYPE_CHECKING:
    from ml.risk.training import Trained


@asynccontextmanager
async def session_for(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = make_engine(settings.async_database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def fail(message: str, code: int = 2) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def run_command(work: Coroutine[Any, Any, None]) -> None:
    """Run a training command; unusable training data ends it with a one-line error and exit code 2."""
    from ml.risk.tabular import DataError  # scikit-learn: only the training commands come here

    try:
        asyncio.run(work)
    except DataError as exc:
        fail(str(exc))


def describe(trained: Trained) -> str:
    from ml.risk.training import report

    model = trained.model
    return "\n".join(
        [
            f"kind: {model.kind}    serves: {model.algorithm}    fingerprint: {trained.fingerprint[:16]}",
            f"features: {len(model.schema.numeric)} numeric, {len(model.schema.categorical)} categorical"
            + (f"; dropped: {', '.join(model.schema.dropped)}" if model.schema.dropped else ""),
            "",
            report(trained.result),
        ]
    )


async def register_and_maybe_promote(
    session: AsyncSession, trained: Trained, settings: Settings, promote: bool, actor: str
) -> ModelVersion:
    """Register the run as a candidate; with `promote`, put it through the gate and say what happened."""
    try:
        version = await registry.register(
            session, trained.model, trained.fingerprint, settings.risk_model_dir, actor
        )
    except (OperationalError, ProgrammingError) as exc:
        fail(
            f"cannot register in {settings.database_url}: migrate it first (alembic upgrade head): {exc.orig}"
        )
        raise  # unreachable: fail() exits
    print(f"registered {version.kind} {version.version} (id {version.id}) as candidate")
    if promote:
        try:
            version, comparison = await registry.promote(
                session, version.id, settings.risk_model_dir, settings.promotion_min_auc_gain, actor
            )
        except registry.PromotionRefused as exc:
            print(f"not promoted: {exc}")
        else:
            against = f" (gate: {comparison})" if comparison else " (first production version)"
            print(f"promoted {version.kind} {version.version} to production{against}")
    return version
