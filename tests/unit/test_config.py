from backend.config import Settings, to_async_url, to_sync_url


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
