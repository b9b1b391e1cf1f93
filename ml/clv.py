"""Customer lifetime value: a survival-based subscription value per customer, written to `customer_values`.

    python -m ml.clv [--horizon 36] [--discount 0.01] [--csv TELCO.csv] [--dry-run]

Why not BG/NBD + Gamma-Gamma: those models need each customer's repeat-purchase history over a long
window; the CRM's orders are a few per customer in the last 60 days, and the two Python packages
(`lifetimes`, last release 2020; `btyd`, a 2022 beta) are no longer maintained. Northwind's revenue is a
monthly subscription, so its value is the charge times the months a customer is expected to stay.

Method (documented in README "Experiments and uplift"):
1. Monthly retention per contract type from the public Telco churn data (RISK_TELCO_CSV), the only real
   churn history at hand (the seeded CRM marks no one cancelled): a constant monthly hazard per contract,
   fitted by maximum likelihood with right-censoring, h = churned customers / months of tenure observed;
   retention r = 1 - h. The fit is checked on a held-out half against the Kaplan-Meier survival at 12 and
   24 months (printed).
2. Value of customer i with contract c and monthly charge m_i over a horizon of H months, discounted at d
   per month: CLV_i = m_i * sum_{t=1..H} r_c^t / (1 + d)^t  (expected discounted revenue from now on).
The result goes to `customer_values` (one row per customer, replaced), which the backend reads: the agent's
customer panel shows it and the uplift policy (ml/uplift.py) weighs offers with it.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from backend.core.config import Settings, get_settings
from backend.core.database import utcnow
from backend.customers.models import Customer
from backend.experiments.models import CustomerValue

CONTRACTS = {"Month-to-month": "month-to-month", "One year": "one-year", "Two year": "two-year"}
HORIZON_MONTHS = 36
MONTHLY_DISCOUNT = 0.01  # about 12.7% a year
SEED = 18


@dataclass(frozen=True)
class Retention:
    monthly: dict[str, float]  # contract -> monthly retention
    fitted_on: int  # Telco customers in the fitting half

    def method(self, horizon: int, discount: float) -> str:
        return f"survival: Telco hazard per contract, {horizon} months, {discount:.0%}/month discount"


def telco(csv: Path) -> pd.DataFrame:
    frame = pd.read_csv(csv, usecols=["tenure", "Contract", "Churn"])
    frame = frame[frame["tenure"] > 0]
    return pd.DataFrame(
        {
            "contract": frame["Contract"].map(CONTRACTS),
            "tenure": frame["tenure"].astype(float),
            "churned": (frame["Churn"] == "Yes").astype(int),
        }
    )


def split(frame: pd.DataFrame, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    half = len(frame) // 2
    return frame.iloc[order[:half]], frame.iloc[order[half:]]


def fit(frame: pd.DataFrame) -> Retention:
    """Constant-hazard MLE with censoring per contract: events / exposure."""
    monthly = {}
    for contract, group in frame.groupby("contract"):
        hazard = group["churned"].sum() / group["tenure"].sum()
        monthly[str(contract)] = float(1 - hazard)
    return Retention(monthly, len(frame))


def kaplan_meier(group: pd.DataFrame, month: float) -> float:
    survival = 1.0
    for t in sorted(group.loc[group["churned"] == 1, "tenure"].unique()):
        if t > month:
            break
        at_risk = (group["tenure"] >= t).sum()
        events = ((group["tenure"] == t) & (group["churned"] == 1)).sum()
        survival *= 1 - events / at_risk
    return float(survival)


def check(retention: Retention, held_out: pd.DataFrame) -> list[str]:
    lines = []
    for contract, group in held_out.groupby("contract"):
        r = retention.monthly[str(contract)]
        for month in (12, 24):
            lines.append(
                f"{contract:15s} month {month}: model {r**month:.3f}, Kaplan-Meier (held-out) "
                f"{kaplan_meier(group, month):.3f}"
            )
    return lines


def value(monthly_charge: float, retention: float, horizon: int, discount: float) -> float:
    months = np.arange(1, horizon + 1)
    return float(monthly_charge * np.sum(retention**months / (1 + discount) ** months))


async def write(
    settings: Settings, retention: Retention, horizon: int, discount: float, dry_run: bool
) -> int:
    engine = create_async_engine(settings.async_database_url)
    try:
        async with async_sessionmaker(engine)() as session:
            return await _write(session, retention, horizon, discount, dry_run)
    finally:
        await engine.dispose()


async def _write(
    session: AsyncSession, retention: Retention, horizon: int, discount: float, dry_run: bool
) -> int:
    customers = list((await session.execute(select(Customer).where(Customer.status == "active"))).scalars())
    now, method = utcnow(), retention.method(horizon, discount)
    rows = []
    for customer in customers:
        r = retention.monthly.get(customer.contract, min(retention.monthly.values()))
        clv = value(float(customer.monthly_charge), r, horizon, discount)
        rows.append(CustomerValue(customer_id=customer.id, value=round(clv, 2), monthly_retention=r,
                                  horizon_months=horizon, method=method, computed_at=now))  # fmt: skip
    if dry_run:
        return len(rows)
    await session.execute(delete(CustomerValue))
    session.add_all(rows)
    await session.commit()
    return len(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    settings = get_settings()
    parser.add_argument("--csv", type=Path, default=settings.risk_telco_csv)
    parser.add_argument("--horizon", type=int, default=HORIZON_MONTHS)
    parser.add_argument("--discount", type=float, default=MONTHLY_DISCOUNT)
    parser.add_argument("--dry-run", action="store_true", help="compute and print, write nothing")
    args = parser.parse_args(argv)
    fitting, held_out = split(telco(args.csv))
    retention = fit(fitting)
    print(f"monthly retention per contract (fitted on {retention.fitted_on} Telco customers):")
    for contract, r in sorted(retention.monthly.items()):
        print(f"  {contract:15s} {r:.4f}  (expected {1 / (1 - r):.0f} months)")
    print("check on the held-out half:")
    for line in check(retention, held_out):
        print("  " + line)
    written = asyncio.run(write(settings, retention, args.horizon, args.discount, args.dry_run))
    done = "would write" if args.dry_run else "wrote"
    print(f"{done} {written} customer values ({retention.method(args.horizon, args.discount)})")


if __name__ == "__main__":
    main()
