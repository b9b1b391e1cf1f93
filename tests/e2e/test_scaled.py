"""The scaled-out topology as real processes (scripts/scaled.py): two Rasa replicas on the PostgreSQL tracker
store with the Redis lock store and the RabbitMQ broker, the action server, two backend workers.

Customers' turns are spread over both replicas without a lost, reordered or twice-answered message, and
with one replica killed the other answers every turn (failover, not the holding reply)."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import loadgen
from scripts.paths import CURRENT_MODEL
from scripts.scaled import ScaledConfig, ScaledStack, drop_database
from tests.conftest import create_pg_database
from tests.stack import ARTIFACTS, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaledStack]:
    if not CURRENT_MODEL.exists():
        pytest.fail(f"no trained model at {CURRENT_MODEL}: run `make model` (make test does)")
    from tests.conftest import PG_ADMIN_URL, postgres_available

    if not postgres_available():
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    work: Path = tmp_path_factory.mktemp("scaled")
    config = ScaledConfig(
        database_url=create_pg_database(PG_ADMIN_URL),
        tracker_database_url=create_pg_database(PG_ADMIN_URL),
        backend_port=free_port(),
        rasa_ports=(free_port(), free_port()),
        action_port=free_port(),
        log_dir=ARTIFACTS / "e2e-logs-scaled",
        work_dir=work,
        extra_env={
            "RATE_LIMIT_SESSIONS_PER_IP": "100000/minute",
            "RATE_LIMIT_MESSAGES_PER_IP": "100000/minute",
            # A busy test machine may need longer than the default 10 s for a turn; holding replies here
            # would hide whether failover worked.
            "RASA_TIMEOUT_S": "25",
        },
    )
    stack = ScaledStack(config)
    stack.prepare_database()
    stack.start()
    try:
        stack.wait_healthy(timeout_s=300)
        yield stack
    finally:
        stack.stop()
        for url in (config.database_url, config.tracker_database_url):
            drop_database(url)


def run_load(stack: ScaledStack, customers: int) -> tuple[loadgen.RunResult, dict[str, int]]:
    backend = stack.config.url(stack.config.backend_port)
    result = asyncio.run(loadgen.run_full_stack(loadgen.Load(backend, customers, seed=3)))
    rows = loadgen.stored_rows(stack.config.database_url, result.conversations)
    return result, loadgen.account(result.messages, rows)


def test_turns_over_two_replicas_are_stored_in_order_and_answered_once(scaled: ScaledStack):
    result, counts = run_load(scaled, customers=8)
    assert result.errors == 0
    assert counts["sent"] > 0
    assert counts["lost"] == counts["reordered"] == counts["double_answered"] == 0
    assert counts["stored"] == counts["accepted"] == counts["sent"]
    assert counts["answered"] + counts["holding"] == counts["stored"]


def test_with_one_replica_killed_the_other_answers_every_turn(scaled: ScaledStack):
    scaled.kill(scaled.config.rasa_names[0])
    try:
        _, counts = run_load(scaled, customers=4)
    finally:
        scaled.restart(scaled.config.rasa_names[0])
    assert counts["lost"] == counts["reordered"] == counts["double_answered"] == 0
    # A refused connection goes to the other replica, not to the holding reply.
    assert counts["holding"] == 0
    assert counts["answered"] == counts["stored"] == counts["sent"]
