"""The secrets between the stack's own services: Rasa's HTTP API token (per install for `make run`, per stack
for the others) and the Redis password the scaled stack hands to the backend and to Rasa's lock store, the
latter checked against a real redis-server that requires it."""

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from redis.exceptions import AuthenticationError

from backend.core.config import Settings
from backend.core.ratelimit import REDIS_PREFIX, rate_limiter_for
from scripts.paths import BOT_BIN, ROOT
from scripts.scaled import ScaledConfig, ScaledStack
from scripts.stack import Stack, StackConfig, local_rasa_token

# Every character a URL reserves, so the password must be percent-encoded in REDIS_URL to survive.
PASSWORD = "p@ss:w/rd?#%"


# ------------------------------------------------------------------------------------ Rasa's API token


def test_the_install_token_is_made_once_readable_by_its_owner_alone(tmp_path: Path):
    path = tmp_path / "var" / "rasa_token"
    token = local_rasa_token(path)
    assert len(token) >= 40 and path.stat().st_mode & 0o777 == 0o600
    assert local_rasa_token(path) == token
    assert local_rasa_token(tmp_path / "other" / "rasa_token") != token


def test_a_token_file_with_a_looser_mode_is_tightened_and_an_empty_one_refused(tmp_path: Path):
    path = tmp_path / "rasa_token"
    path.write_text("kept-token\n")
    path.chmod(0o644)
    assert local_rasa_token(path) == "kept-token" and path.stat().st_mode & 0o777 == 0o600
    path.write_text("")
    with pytest.raises(RuntimeError, match="empty"):
        local_rasa_token(path)


def test_rasa_gets_the_stack_token_from_its_environment_not_its_command_line():
    """A command line is public on the machine (`ps`): Rasa is started through bot/rasa_run.py, which hands
    it the token from RASA_TOKEN in memory; the backend reads the same variable."""
    config = StackConfig(database_url="sqlite://")
    stack = Stack(config)
    command = stack._rasa_command()
    assert command[:3] == [str(BOT_BIN / "python"), "-m", "rasa_run"]
    assert "--auth-token" not in command and not any(config.rasa_token in part for part in command)
    assert "--enable-api" in command  # the API stays on, served with the token
    assert stack._env()["RASA_TOKEN"] == config.rasa_token
    scaled = ScaledStack(ScaledConfig())
    for port in scaled.config.rasa_ports:
        replica = scaled._replica_command(port)
        assert replica[:3] == command[:3] and replica[replica.index("--port") + 1] == str(port)
        assert not any(scaled.config.rasa_token in part for part in replica)
    query = parse_qs(urlsplit(config.rasa_status_url(config.rasa_port)).query)
    assert query == {"token": [config.rasa_token]}
    assert StackConfig(database_url="sqlite://").rasa_token != config.rasa_token


@pytest.mark.parametrize(
    ("token", "options", "says"),
    [
        (None, [], "set RASA_TOKEN"),
        ("  ", [], "set RASA_TOKEN"),
        ("a-token", ["--auth-token", "a-token"], "visible to every local user"),
        ("a-token", ["--auth-token=a-token"], "visible to every local user"),
    ],
    ids=["unset", "blank", "flag", "flag="],
)
def test_the_launcher_refuses_no_token_and_a_token_on_its_command_line(
    token: str | None, options: list[str], says: str
):
    """bot/rasa_run.py, as the stack and the images run it (bot venv), stops before Rasa is even imported."""
    env = {k: v for k, v in os.environ.items() if k != "RASA_TOKEN"}
    env |= {"PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bot'}"} | ({"RASA_TOKEN": token} if token else {})
    command = [str(BOT_BIN / "python"), "-m", "rasa_run", "--enable-api", *options]
    result = subprocess.run(command, cwd=ROOT / "bot", env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and says in result.stderr, result.stderr


# -------------------------------------------------------------------------- the Redis password, for real


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    """A private redis-server that requires PASSWORD (the machine's shared one has none)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed; scripts/bootstrap.sh installs it (Debian package)")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([*command, "--requirepass", PASSWORD], stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port, password=PASSWORD)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def scaled_env(port: int, password: str) -> dict[str, str]:
    config = ScaledConfig(redis_port=port, redis_password=password)
    return ScaledStack(config)._env()


@pytest.mark.integration
def test_the_backend_keeps_its_rate_limits_in_redis_behind_the_password(redis_port: int):
    url = scaled_env(redis_port, PASSWORD)["REDIS_URL"]
    settings = Settings(redis_url=url, rate_limit_logins_per_ip="5/minute")
    limiter = rate_limiter_for(settings)

    async def sign_in_once() -> None:
        try:
            # hit() lets the request through when Redis refuses it, so only the stored counter tells.
            assert await limiter.hit("logins_per_ip", "203.0.113.9") is None
        finally:
            await limiter.close()

    asyncio.run(sign_in_once())
    keys = redis.Redis(port=redis_port, password=PASSWORD).keys(f"{REDIS_PREFIX}:*")
    assert keys, "the counter did not reach the password-protected Redis"
    with pytest.raises(AuthenticationError):
        redis.Redis.from_url(scaled_env(redis_port, "")["REDIS_URL"]).ping()


LOCK_STORE = """
import sys
from rasa.core.lock_store import LockStore
from rasa.core.utils import AvailableEndpoints

store = LockStore.create(AvailableEndpoints.read_endpoints("endpoints.scaled.yml").lock_store)
try:
    store.issue_ticket("conversation-behind-a-password")
except Exception as exc:
    sys.exit(f"{type(exc).__name__}: {exc}")
"""


def lock_in_rasa(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Rasa's own lock store, built from bot/endpoints.scaled.yml with the scaled stack's environment."""
    command = [str(BOT_BIN / "python"), "-c", LOCK_STORE]
    return subprocess.run(command, cwd=ROOT / "bot", env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.integration
def test_rasas_lock_store_authenticates_with_the_password(redis_port: int):
    done = lock_in_rasa(scaled_env(redis_port, PASSWORD))
    assert done.returncode == 0, done.stderr[-2000:]
    locks = redis.Redis(port=redis_port, password=PASSWORD, db=1).keys("*conversation-behind-a-password*")
    assert locks, "Rasa's lock did not reach db 1 of the password-protected Redis"
    refused = lock_in_rasa(scaled_env(redis_port, ""))
    assert refused.returncode != 0 and "auth" in refused.stderr.lower(), refused.stderr[-2000:]


def test_the_password_is_in_no_url_unencoded():
    env = scaled_env(6379, PASSWORD)
    assert PASSWORD not in env["REDIS_URL"] and env["REDIS_PASSWORD"] == PASSWORD
    assert redis.connection.parse_url(env["REDIS_URL"])["password"] == PASSWORD
    assert "@" not in scaled_env(6379, "")["REDIS_URL"]
