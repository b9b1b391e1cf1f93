"""Train a churn model and register it as a candidate version.

    python -m ml.risk.train_churn --csv FILE --target COLUMN [--id COLUMN]
    python -m ml.risk.train_churn --from-db

Any tabular export works: numeric and categorical columns are inferred, blanks become missing values,
identifier-like and constant columns are dropped (and named). A CSV with the CRM's churn feature columns
trains a `churn` model the app can serve; any other CSV a `churn_csv` model (registered and evaluated, not
used to score CRM customers). --from-db computes the CRM features of every customer, labelled by
status == cancelled.

Both a gradient-boosting model and a logistic baseline are trained and calibrated on the same stratified,
seeded training part; the one with the better cross-validated ROC-AUC serves. Both are reported on the
hold-out: ROC-AUC, PR-AUC, Brier score and a calibration table by decile.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from backend.core.config import get_settings
from backend.core.database import utcnow
from ml.risk import training
from ml.risk.cli import describe, register_and_maybe_promote, run_command, session_for


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", type=Path, help="a CSV export, one row per customer")
    source.add_argument(
        "--from-db", action="store_true", help="CRM features of every customer in DATABASE_URL"
    )
    parser.add_argument("--target", help="the churn column of the CSV (two values, e.g. Yes/No)")
    parser.add_argument("--id", dest="id_column", help="an identifier column of the CSV, never a feature")
    parser.add_argument("--seed", type=int, default=7, help="hold-out split and model seed (default 7)")
    parser.add_argument("--test-size", type=float, default=0.2, help="hold-out share (default 0.2)")
    parser.add_argument("--promote", action="store_true", help="promote if it beats production (the gate)")
    parser.add_argument("--dry-run", action="store_true", help="train and report, register nothing")
    args = parser.parse_args(argv)
    if args.csv is not None and not args.target:
        parser.error("--csv needs --target COLUMN")
    if not 0.05 <= args.test_size <= 0.5:
        parser.error("--test-size must be between 0.05 and 0.5")
    return args


async def run(args: argparse.Namespace) -> None:
    settings = get_settings()
    if args.csv is not None:
        trained = training.churn_from_csv(args.csv, args.target, args.id_column, args.seed, args.test_size)
        print(describe(trained))
        if not args.dry_run:
            async with session_for(settings) as session:
                await register_and_maybe_promote(session, trained, settings, args.promote, "cli:train_churn")
        return
    async with session_for(settings) as session:
        trained = await training.churn_from_db(session, args.seed, utcnow(), args.test_size)
        print(describe(trained))
        if not args.dry_run:
            await register_and_maybe_promote(session, trained, settings, args.promote, "cli:train_churn")


def main(argv: list[str] | None = None) -> None:
    run_command(run(parse(argv)))


if __name__ == "__main__":
    main()
