import logging
import os
import subprocess
import sys

import pytest

from backend.core.config import InsecureSettings, Settings, to_async_url, to_sync_url
from backend.main import create_app
from scripts.paths import ROOT

# Every variable that may set a secret or the mode; the process test starts without any of them.
SECRET_VARIABLES = {"ENVIRONMENT", "SERVICE_TOKEN", "SECRET_KEY", "IDENTITY_SECRET", "RASA_TOKEN"}


def test_database_urls_get_the_right_drivers():
    assert to_async_url("sqlite:///var/x.db") == "sqlite+aiosqlite:///var/x.db"
    assert to_sync_url("sqlite:///var/x.db") == "sqlite:///var/x.db"
    assert to_async_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert to_sync_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert to_sync_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://me@db/crm")
    monkeypatch.setenv("RASA_URL", "http://rasa:5005/")
    monkeypatch.setenv("MAX_MESSAGE_CHARS", "500")
    settings = Settings()
    assert settings.async_database_url == "postgresql+psycopg://me@db/crm"
    assert settings.rasa_url == "http://rasa:5005"
    assert settings.max_message_chars == 500


REAL_SECRETS = {
    "service_token": "a-service-token-of-the-operator",
    "secret_key": "a-random-secret-key-of-48-characters-00000000000",
    "identity_secret": "an-identity-secret-shared-with-the-host",
    "rasa_token": "a-rasa-token-shared-with-the-bot",
}


@pytest.mark.parametrize("published", ["SERVICE_TOKEN", "SECRET_KEY", "IDENTITY_SECRET"])
def test_production_refuses_each_published_development_secret(published):
    secrets = {k: v for k, v in REAL_SECRETS.items() if k != published.lower()}
    settings = Settings(environment="production", **secrets)
    with pytest.raises(InsecureSettings, match=f"{published} is the published development value"):
        create_app(settings)


def test_production_refuses_a_short_secret_key():
    settings = Settings(environment="production", **(REAL_SECRETS | {"secret_key": "short"}))
    with pytest.raises(InsecureSettings, match="SECRET_KEY is shorter than 32 bytes"):
        settings.check_secrets()


def test_production_starts_with_its_own_secrets_and_development_with_a_warning(caplog):
    Settings(environment="production", **REAL_SECRETS).check_secrets()
    with caplog.at_level(logging.WARNING, logger="backend.core.config"):
        Settings(environment="development").check_secrets()
    assert "SERVICE_TOKEN, SECRET_KEY, IDENTITY_SECRET at the published development values" in caplog.text


def test_production_is_the_default(monkeypatch):
    monkeypatch.delenv("ENVIRONMENT")  # tests/conftest.py sets development for the suite
    assert Settings().environment == "production"


@pytest.mark.integration  # a real uvicorn process
def test_the_backend_process_stops_at_start_in_production_with_the_development_secrets(tmp_path):
    """As an operator would run it, without ENVIRONMENT or secrets: uvicorn exits and says why."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
    env |= {"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'no.db'}", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "uvicorn", "backend.main:create_app", "--factory", "--port", "0"]
    # cwd: no .env file there to supply secrets.
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "InsecureSettings: refusing to start in production: SERVICE_TOKEN is the" in result.stderr
    assert "SECRET_KEY is the published development value" in result.stderr
    assert "Application startup complete" not in result.stderr
