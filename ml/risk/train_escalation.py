"""Train an escalation model and register it as a candidate version.

    python -m ml.risk.train_escalation --from-db
    python -m ml.risk.train_escalation --simulate 4000 [--seed 7]

--from-db: every conversation with an outcome (a case was opened = escalated; resolved without a case =
resolved by the bot), one row per customer turn before the hand-off, features as computed live. The hold-out
keeps each conversation whole. --simulate: the seeded simulator (ml/risk/simulator.py).
"""

from __future__ import annotations

import argparse

from backend.core.config import get_settings
from ml.risk import training
from ml.risk.cli import describe, register_and_maybe_promote, run_command, session_for


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-db", action="store_true", help="labelled conversations in DATABASE_URL")
    source.add_argument("--simulate", type=int, metavar="N", help="N simulated conversations")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--promote", action="store_true", help="promote if it beats production (the gate)")
    parser.add_argument("--dry-run", action="store_true", help="train and report, register nothing")
    args = parser.parse_args(argv)
    if args.simulate is not None and args.simulate < 50:
        parser.error("--simulate needs at least 50 conversations")
    return args


async def run(args: argparse.Namespace) -> None:
    settings = get_settings()
    async with session_for(settings) as session:
        if args.from_db:
            trained = await training.escalation_from_db(session, args.seed)
        else:
            trained = training.escalation_from_simulation(args.simulate, args.seed, folds=5)
        print(describe(trained))
        if not args.dry_run:
            await register_and_maybe_promote(session, trained, settings, args.promote, "cli:train_escalation")


def main(argv: list[str] | None = None) -> None:
    run_command(run(parse(argv)))


if __name__ == "__main__":
    main()
