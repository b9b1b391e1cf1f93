"""RASA_TOKEN in production: the backend refuses to start without it, naming the variable (the hub channel
would otherwise refuse every turn, or, run without a token, take turns from anyone); development starts with a
warning, as for the published development secrets."""

import logging

import pytest

from backend.core.config import ConversationSettings, InsecureSettings, Settings
from backend.main import create_app

OWN_SECRETS = {
    "service_token": "a-service-token-of-the-operator",
    "secret_key": "a-random-secret-key-of-48-characters-00000000000",
    "identity_secret": "an-identity-secret-shared-with-the-host",
}


def test_production_refuses_to_start_with_an_empty_rasa_token() -> None:
    settings = Settings(_env_file=None, environment="production", rasa_token="", **OWN_SECRETS)
    with pytest.raises(
        InsecureSettings, match="refusing to start in production: RASA_TOKEN is empty"
    ) as error:
        create_app(settings)
    # Only the missing one is named: the operator's own secrets are not blamed.
    assert "SERVICE_TOKEN" not in str(error.value) and "SECRET_KEY" not in str(error.value)


def test_production_names_every_problem_at_once() -> None:
    settings = Settings(_env_file=None, environment="production", rasa_token="")
    with pytest.raises(InsecureSettings) as error:
        settings.check_secrets()
    message = str(error.value)
    assert "SERVICE_TOKEN is the published development value" in message
    assert message.count("RASA_TOKEN is empty") == 1


def test_production_starts_with_a_rasa_token() -> None:
    Settings(
        _env_file=None, environment="production", rasa_token="shared-with-rasa", **OWN_SECRETS
    ).check_secrets()


def test_development_starts_without_one_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="backend.core.config"):
        Settings(_env_file=None, environment="development", rasa_token="", **OWN_SECRETS).check_secrets()
    [record] = caplog.records
    assert "ENVIRONMENT=development: RASA_TOKEN empty" in record.getMessage()


def test_the_conversation_group_alone_reports_its_missing_token() -> None:
    assert ConversationSettings(_env_file=None, rasa_token="").missing_secrets() == ["RASA_TOKEN"]
    assert ConversationSettings(_env_file=None, rasa_token="x").missing_secrets() == []
