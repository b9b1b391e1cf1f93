import pytest

from backend.core.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Many customers open widget sessions from one test client: the per-address limit is not under test.
    return settings.model_copy(update={"rate_limits_enabled": False})
