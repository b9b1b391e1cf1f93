"""The integration fixtures (a real database of each kind, an app with Rasa scripted) for the analytics API."""

from tests.integration.conftest import client, rasa, settings, widget  # noqa: F401 - fixtures
