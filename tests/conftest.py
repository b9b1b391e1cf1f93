"""Shared fixtures: a migrated, seeded database on SQLite and on PostgreSQL, and apps bound to it
(tests/app_fixtures.py, a plugin); and each test's kind as a marker (tests/README.md)."""

import os
import random
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import bcrypt
import psycopg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from backend.core.config import to_sync_url
from backend.seed import seed
from scripts.paths import ROOT

# The tests sign with the built-in development secrets or their own short ones, whatever the shell
# says (production refuses both: backend/core/config.py). Stacks the tests start inherit it unless they
# say otherwise.
os.environ["ENVIRONMENT"] = "development"
# The PII redaction child at the tests' own CPU priority (PII_CHILD_NICENESS): the product's niceness 10
# lets a loaded test machine starve it for minutes while it loads spaCy, and a test waiting for a redacted
# copy (the privacy worker, a CSAT comment) then fails its liveness bound. The tests check what redaction
# produces, not how the kernel schedules it.
os.environ["PII_CHILD_NICENESS"] = "0"

# bcrypt's work factor for the hashes the tests' processes make: 4, the least bcrypt takes, instead of the
# library's default 12 (backend/auth/passwords.py). A staff sign-in checks the seeded hash, and at cost 12
# that took 0.25-0.36 s of CPU each, a fifth of `make test-fast`'s CPU. bcrypt reads the cost from the stored
# hash, so sign-in, refusal and the stand-in check for unknown emails run the same code on real bcrypt
# hashes; only the rounds differ. Processes the tests start (stacks, apps in subprocesses) hash with 12.
TEST_BCRYPT_ROUNDS = 4
_bcrypt_gensalt = bcrypt.gensalt


def _test_gensalt(rounds: int = TEST_BCRYPT_ROUNDS, prefix: bytes = b"2b") -> bytes:
    return _bcrypt_gensalt(rounds, prefix)


bcrypt.gensalt = _test_gensalt

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

# The app on a database with a scripted Rasa (client, settings, widget, ...) for every domain folder.
pytest_plugins = ["tests.app_fixtures"]

# Each test has exactly one kind: unit, integration or e2e. A test that says none gets one from the fixtures
# it uses, so a test moved or written anywhere is sorted the same way; a test that reaches a database or a
# server without these fixtures (migrate() on its own file, Redis, RabbitMQ, a uvicorn process) says
# `integration` itself. `browser` and `postgres` come on top: what else a test needs.
KINDS = ("unit", "integration", "e2e")
BROWSER_FIXTURES = {"browser", "new_page"}  # tests/browser/conftest.py: Chromium on a whole stack
STACK_FIXTURES = {"stack"}  # tests/stack.py: the real backend, Rasa server and action server as processes
APP_FIXTURES = {"database_url", "postgres_server", "app_client"}  # a database, or an app on one, in process


def kind_of(item: pytest.Item) -> str:
    explicit = [kind for kind in KINDS if item.get_closest_marker(kind)]
    if len(explicit) > 1:
        raise pytest.UsageError(f"{item.nodeid} is marked {' and '.join(explicit)}; a test has one kind")
    if explicit:
        return explicit[0]
    used = set(getattr(item, "fixturenames", ()))
    if used & (STACK_FIXTURES | BROWSER_FIXTURES):
        return "e2e"
    if used & APP_FIXTURES:
        return "integration"
    return "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        markers = [kind_of(item)]
        if used & BROWSER_FIXTURES:
            markers.append("browser")
        if "postgres_server" in used:
            markers.append("postgres")
        for marker in markers:
            if not item.get_closest_marker(marker):
                item.add_marker(marker)


# `make test-fast` runs one pytest-xdist worker per core with each test file's tests on one worker
# (`--dist loadfile`). Some files share a per-process cost that the worker pays once, whichever of them
# comes first: the privacy redactor's child process (Presidio and spaCy loaded in a spawned interpreter,
# about 8 s of CPU, backend/privacy/redactor.py) and spaCy in the worker itself; tests/leads' lead model,
# trained once per session (tests/leads/conftest.py). Spread over both workers, each paid it. The files of
# one group below go to the same worker, so it is paid once; every other file is still its own unit.
SAME_WORKER = {
    "privacy NLP": (
        "tests/assist/test_gaps.py",
        "tests/assist/test_index_store.py",
        "tests/assist/test_similar.py",
        "tests/assist/test_suggestions.py",
        "tests/cases/test_csat_survey.py",
        "tests/privacy/test_pii_shipped.py",
        "tests/privacy/test_privacy_api.py",
        "tests/privacy/test_redaction.py",
        "tests/privacy/test_worker.py",
    ),
    "lead model": ("tests/leads/",),
}


def worker_group(path: str) -> str:
    """The unit of `--dist loadfile` scheduling for a test file (its path, relative to the rootdir)."""
    for group, members in SAME_WORKER.items():
        if any(path == m or (m.endswith("/") and path.startswith(m)) for m in members):
            return group
    return path


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook; `-p no:xdist` must still collect
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    if config.getvalue("dist") != "loadfile":
        return None  # xdist's own scheduler for the other modes
    from xdist.scheduler import LoadFileScheduling

    class GroupedFileScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(super()._split_scope(nodeid))

    return GroupedFileScheduling(config, log)


def migrate(database_url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = to_sync_url(database_url)
    command.upgrade(config, "head")


def seed_demo(database_url: str, customers: int = 30) -> None:
    engine = create_engine(to_sync_url(database_url))
    with Session(engine) as session:
        seed(session, customers, random.Random(7))
    engine.dispose()


def postgres_available() -> bool:
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


@pytest.fixture(scope="session")
def postgres_server() -> str:
    if not postgres_available():
        # make test starts PostgreSQL (scripts/bootstrap.sh); without it this part of the suite cannot run.
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}; run scripts/bootstrap.sh")
    return PG_ADMIN_URL


def create_pg_database(admin_url: str) -> str:
    name = f"sd_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated, seeded SQLite file per session, which each test that wants one gets a copy of: the seed
    is fixed (backend/seed.py), so the copy holds what migrating and seeding once more would, without the
    time that takes before every test."""
    path = tmp_path_factory.mktemp("seeded") / "seeded.db"
    migrate(f"sqlite:///{path}")
    seed_demo(f"sqlite:///{path}")
    return path


def copy_sqlite(source: Path, target: Path) -> None:
    # The backup API copies a consistent file whatever journal mode the source was left in.
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated and seeded database of each kind."""
    if request.param == "sqlite":
        copy_sqlite(request.getfixturevalue("seeded_sqlite"), tmp_path / "test.db")
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    admin = request.getfixturevalue("postgres_server")
    url = create_pg_database(admin)
    try:
        migrate(url)
        seed_demo(url)
        yield url
    finally:
        drop_pg_database(admin, url)
