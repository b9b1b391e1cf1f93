"""The app fixtures moved to tests/app_fixtures.py (a plugin every folder gets); these names stay importable
from here for tests written against the old layout."""

from tests.app_fixtures import SERVICE_HEADERS, ScriptedRasa, default_answer, staff_headers

__all__ = ["SERVICE_HEADERS", "ScriptedRasa", "default_answer", "staff_headers"]
