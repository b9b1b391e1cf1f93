"""The action server's backend client, like the backend's Rasa client, leaves httpcore no sniffio to search
sys.path for on every call when it is not installed (contract/imports.py)."""

import importlib.util
import sys

import pytest

import actions.backend_client  # noqa: F401 - importing it is what is checked


@pytest.mark.skipif(importlib.util.find_spec("sniffio") is not None, reason="sniffio is installed here")
def test_importing_the_client_remembers_that_sniffio_is_missing() -> None:
    assert "sniffio" in sys.modules and sys.modules["sniffio"] is None
    with pytest.raises(ModuleNotFoundError):
        import sniffio  # noqa: F401
