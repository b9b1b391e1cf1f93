"""RASA_TOKEN and REDIS_URL: a malformed Redis URL stops the backend at start with a message that names the
variable and what is wrong, and never quotes the URL (it may carry the password)."""

import pytest
from pydantic import ValidationError

from backend.core.config import ConversationSettings, ScaleOutSettings, Settings

SECRET = "s3cret-pw"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"http://:{SECRET}@redis:6379/0", "schemes"),
        (f"redis://:{SECRET}@redis:port/0", "Port could not be cast"),
        (f"redis://:{SECRET}@redis:6379/zero", "database after the host is not a number"),
        (f"redis://:{SECRET}@/0", "no host"),
        (f"redis//:{SECRET}@redis:6379/0", "schemes"),
    ],
)
def test_a_malformed_redis_url_is_refused_by_name_without_its_password(url: str, reason: str) -> None:
    for settings in (Settings, ScaleOutSettings):
        with pytest.raises(ValidationError) as error:
            settings(redis_url=url)
        message = str(error.value)
        assert "REDIS_URL is not a Redis URL" in message and reason in message, message
        assert SECRET not in message, message


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        f"redis://:{SECRET}@redis:6379/0",
        "redis://default:p%40ss%3Aw%2Frd@redis.internal:6380/2",
        "rediss://:pw@redis.example.com:6380",
        "unix:///run/redis.sock?db=1",
    ],
)
def test_well_formed_redis_urls_are_kept_as_written(url: str) -> None:
    assert Settings(redis_url=url).redis_url == url


def test_an_empty_redis_url_means_none_and_the_token_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setenv("RASA_TOKEN", "from-the-environment")
    assert ScaleOutSettings().redis_url is None
    assert ConversationSettings().rasa_token == "from-the-environment"
    monkeypatch.delenv("RASA_TOKEN")
    assert ConversationSettings(_env_file=None).rasa_token == ""
