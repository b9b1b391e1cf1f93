"""End-to-end tests run against the real processes."""

from tests.stack import stack  # noqa: F401 - the fixture
