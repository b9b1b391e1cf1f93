"""Make sure a production churn model and a production escalation model exist.

    python -m ml.risk.bootstrap [--seed 7] [--customers 2500] [--conversations 1500]

Idempotent: a kind that already has a production version is left alone; a candidate with the same data
fingerprint (say, from an interrupted run) is promoted instead of trained again. A few seconds on a laptop.

Where the first models come from (honestly):
- churn: from the CRM when it holds enough labelled customers (at least `risk_min_training_rows` active
  plus cancelled, and 50 of each); a new install has none cancelled, so instead from simulated CRM customers
  (ml/risk/simulator.py). Their churn label follows a documented story whose contract, tenure and price
  effects are fitted on the IBM Telco CSV when it is present (`risk_telco_csv`), and whose support-signal
  effects are stated assumptions. Telco itself cannot train the CRM model: it has no contacts, sentiment,
  cases or payment failures, and its plans and prices are another company's. This first model is a
  prior, to be replaced through the promotion gate once real cancellations exist (train_churn --from-db).
- escalation: from the CRM's conversations with an outcome when there are enough (same thresholds), else
  from the seeded simulator.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings, get_settings
from backend.risk import registry
from backend.risk.models import ModelVersion
from ml.risk.cli import session_for

if TYPE_CHECKING:
    from ml.risk.training import Trained

MIN_PER_CLASS = 50
ACTOR = "bootstrap"


async def churn_source(session: AsyncSession, settings: Settings) -> str:
    from ml.risk import crm_history

    active, cancelled = await crm_history.count_churn_labels(session)
    enough = active + cancelled >= settings.risk_min_training_rows and min(active, cancelled) >= MIN_PER_CLASS
    return "crm" if enough else "simulated"


async def escalation_source(session: AsyncSession, settings: Settings) -> str:
    from ml.risk import crm_history

    outcomes = await crm_history.labelled_conversations(session)
    escalated = sum(o.escalated for o in outcomes)
    enough = (
        len(outcomes) >= settings.risk_min_training_rows
        and min(escalated, len(outcomes) - escalated) >= MIN_PER_CLASS
    )
    return "crm" if enough else "simulated"


async def train_kind(
    session: AsyncSession, kind: str, settings: Settings, args: argparse.Namespace
) -> Trained:
    # Imported here so that a bootstrap with nothing to do (every `make run`) never loads scikit-learn.
    from ml.risk import training

    if kind == "churn":
        if await churn_source(session, settings) == "crm":
            return await training.churn_from_db(session, args.seed)
        return training.churn_from_simulation(args.customers, args.seed, settings.risk_telco_csv)
    if await escalation_source(session, settings) == "crm":
        return await training.escalation_from_db(session, args.seed)
    return training.escalation_from_simulation(args.conversations, args.seed)


async def install(session: AsyncSession, trained: Trained, settings: Settings) -> ModelVersion:
    """Register (unless this exact data already is) and promote: the first version of a kind."""
    query = select(ModelVersion).where(
        ModelVersion.kind == trained.model.kind, ModelVersion.data_fingerprint == trained.fingerprint
    )
    version = (await session.execute(query)).scalars().first()
    if version is None:
        version = await registry.register(
            session, trained.model, trained.fingerprint, settings.risk_model_dir, ACTOR
        )
    if version.status != "production":
        version, _ = await registry.promote(
            session, version.id, settings.risk_model_dir, settings.promotion_min_auc_gain, ACTOR
        )
    return version


async def bootstrap(settings: Settings, args: argparse.Namespace) -> list[str]:
    """One line per kind saying what was done."""
    done = []
    async with session_for(settings) as session:
        for kind in ("churn", "escalation"):
            current = await registry.production(session, kind)
            if current is not None:
                done.append(f"{kind}: {current.version} already in production (id {current.id})")
                continue
            trained = await train_kind(session, kind, settings, args)
            version = await install(session, trained, settings)
            source = trained.model.metrics.get("source", {}).get("type")
            done.append(
                f"{kind}: trained on {source} data, {version.version} (id {version.id}) in production, "
                f"{trained.model.algorithm}, hold-out ROC-AUC {trained.model.metrics['roc_auc']:.3f}"
            )
    return done


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=2000, help="simulated customers (churn)")
    parser.add_argument(
        "--conversations", type=int, default=1500, help="simulated conversations (escalation)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    for line in asyncio.run(bootstrap(get_settings(), parse(argv))):
        print(line)


if __name__ == "__main__":
    main()
