"""The integration fixtures (a real database of each kind, an app with a scripted Rasa) for the API tests."""

from tests.integration.conftest import client, rasa, settings, widget  # noqa: F401 - fixtures
