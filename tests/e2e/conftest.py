"""End-to-end tests run against the real processes."""

from collections.abc import Iterator

import pytest

from scripts.stack import stop_on_signals
from tests.stack import stack  # noqa: F401 - the fixture


@pytest.fixture(scope="session", autouse=True)
def _stop_processes_on_signals() -> Iterator[None]:
    """Every stack started here (tests/stack.py, the scaled one) is stopped by a SIGTERM or Ctrl-C to pytest,
    and at the latest when the interpreter exits (scripts/stack.py)."""
    stop_on_signals()
    yield
