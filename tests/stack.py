"""The whole system as real processes (backend, Rasa with the trained model, action server) as a fixture."""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.paths import CURRENT_MODEL, ROOT
from scripts.stack import Stack, StackConfig, stop_on_signals
from tests.conftest import create_pg_database, drop_pg_database

ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not CURRENT_MODEL.exists():
        pytest.fail(f"no trained model at {CURRENT_MODEL}: run `make model` (make test does)")
    work: Path = tmp_path_factory.mktemp(f"stack-{request.param}")
    pg_admin = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    database_url = create_pg_database(pg_admin) if pg_admin else f"sqlite:///{work / 'supportdesk.db'}"
    config = StackConfig(
        database_url=database_url,
        backend_port=free_port(),
        rasa_port=free_port(),
        action_port=free_port(),
        log_dir=ARTIFACTS / f"e2e-logs-{request.param}",
        rasa_tracker_db=work / "tracker.db",
        extra_env={
            # Production, as deployed: these secrets are its own, so the backend's start-up check passes.
            "ENVIRONMENT": "production",
            "SERVICE_TOKEN": "e2e-service-token",
            "SECRET_KEY": "e2e-secret-key-of-at-least-32-bytes",
            "IDENTITY_SECRET": "e2e-identity-secret",
            # Index and model files of this stack only; the developer's var/ is never touched.
            "KB_INDEX_DIR": str(work / "kb_index"),
            "RISK_MODEL_DIR": str(work / "risk_models"),
            # Every signed-in customer is a likely churner here, so the retention path runs deterministically.
            "CHURN_HIGH_THRESHOLD": "0.01",
            # The learnt hand-off policy's thread has 50 ms per turn by default; on a loaded machine it can
            # miss that and the rules decide the turn instead, so which policy decided would depend on load.
            # The deadline's fallback is tested in process (tests/decisions/test_handoff_decisions.py).
            "DECISION_DEADLINE_MS": "30000",
            # A turn that overruns RASA_TIMEOUT_S (10 s by default) gets the holding reply instead of the
            # bot's answer, and the tests check the answers: a loaded machine must not turn them into holding
            # replies (as in tests/e2e/test_scaled.py). No test here waits for the timeout.
            "RASA_TIMEOUT_S": "60",
            # All test traffic comes from 127.0.0.1; the per-address limits are for the internet. The
            # per-conversation and per-account limits stay at their defaults.
            "RATE_LIMIT_SESSIONS_PER_IP": "100000/minute",
            "RATE_LIMIT_MESSAGES_PER_IP": "1000000/minute",
            "RATE_LIMIT_LOGINS_PER_IP": "100000/minute",
        },
    )
    # A SIGTERM or Ctrl-C to pytest (or to scripts/test.sh, which passes it on) stops these processes too.
    stop_on_signals()
    stack = Stack(config)
    stack.prepare_database()
    stack.start()
    try:
        stack.wait_healthy(timeout_s=300)
        yield stack
    finally:
        stack.stop()
        if pg_admin:
            drop_pg_database(pg_admin, database_url)
