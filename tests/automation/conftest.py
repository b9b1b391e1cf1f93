"""The automation tests' app: webhook back-off short enough for a test, three tries, and a small cap on
actions per conversation so a rule loop meets it quickly."""

import pytest

from backend.core.config import Settings

ACTIONS_PER_HOUR = 6


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "automation_webhook_attempts": 3,
            "automation_webhook_backoff_s": 0.01,
            # The receiver is a thread of this process: on a loaded machine its answer can take longer than
            # a short timeout, which then retries and records one call twice. No test here waits for it.
            "automation_webhook_timeout_s": 30.0,
            "automation_max_actions_per_hour": ACTIONS_PER_HOUR,
            # The sweep runs when a test says so (helpers.sweep), not on its own in the middle of one.
            "automation_sweep_interval_s": 3600.0,
        }
    )
