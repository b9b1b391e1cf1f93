"""Wait until the database schema is at this image's Alembic head (the backend pods' init container).

On Kubernetes the migration runs once, as a Job (docker/kubernetes/base/migrate-job.yaml), not in every
backend pod: N pods running `alembic upgrade head` at once would race. A new pod therefore waits here until
the Job has brought the schema to the revision its own code expects, instead of starting on tables that are
not there yet; it exits 1 after --timeout-s so a migration that never ran shows as a failing init container.

    python -m scripts.wait_for_migrations [--timeout-s 600] [--interval-s 3]
"""

from __future__ import annotations

import argparse
import sys
import time

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError

from backend.core.config import get_settings
from scripts.paths import ROOT


def expected_heads() -> set[str]:
    return set(ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_heads())


def current_heads(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def wait(database_url: str, timeout_s: float, interval_s: float) -> bool:
    """True once the database is at the expected heads; False when timeout_s passes first."""
    wanted, deadline = expected_heads(), time.monotonic() + timeout_s
    while True:
        try:
            found = current_heads(database_url)
        except SQLAlchemyError as exc:  # the database may not answer yet; say so and keep waiting
            found = set()
            print(f"wait_for_migrations: database not reachable yet: {exc.__class__.__name__}", flush=True)
        if found == wanted:
            return True
        if time.monotonic() >= deadline:
            found_at, needed = sorted(found), sorted(wanted)
            print(f"wait_for_migrations: schema at {found_at}, this image needs {needed}", flush=True)
            return False
        time.sleep(interval_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout-s", type=float, default=600.0)
    parser.add_argument("--interval-s", type=float, default=3.0)
    args = parser.parse_args(argv)
    return 0 if wait(get_settings().sync_database_url, args.timeout_s, args.interval_s) else 1


if __name__ == "__main__":
    sys.exit(main())
