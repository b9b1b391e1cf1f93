"""docker-compose.yml is complete and valid (checked offline by Debian's docker-compose)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from scripts.paths import ROOT

# Two Rasa replicas behind the backend's failover (RASA_URLS), sharing the tracker store and the lock store.
REQUIRED = {"postgres", "redis", "rabbitmq", "rasa-1", "rasa-2", "action-server", "backend"}


# The backend's own three, Rasa's HTTP API token (Rasa and the backend) and the password Redis requires.
SECRETS = ("SERVICE_TOKEN", "SECRET_KEY", "IDENTITY_SECRET", "RASA_TOKEN", "REDIS_PASSWORD")
BACKEND_SECRETS = ("SERVICE_TOKEN", "SECRET_KEY", "IDENTITY_SECRET", "RASA_TOKEN")


def compose_config(tmp_path: Path, **secrets: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config -q` with exactly these secrets: none from the shell or a developer's .env."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed; scripts/bootstrap.sh installs it (Debian package)")
    empty = tmp_path / "empty.env"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in SECRETS} | secrets
    command = [binary, "--env-file", str(empty), "config", "-q"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_compose_file_validates(tmp_path):
    result = compose_config(tmp_path, **{name: f"{name.lower()}-of-the-operator" for name in SECRETS})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", SECRETS)
def test_compose_refuses_to_run_without_each_secret(tmp_path, missing):
    # The backend would refuse the development secrets anyway (ENVIRONMENT=production); compose says so first.
    result = compose_config(tmp_path, **{name: "x" for name in SECRETS if name != missing})
    assert result.returncode != 0 and f"set {missing}" in result.stderr


def test_the_backend_runs_in_production_mode_with_every_secret_passed():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    environment = services["backend"]["environment"]
    assert environment["ENVIRONMENT"] == "production"
    assert all(environment[name].startswith(f"${{{name}:?") for name in BACKEND_SECRETS)


def test_compose_has_every_service_with_a_healthcheck():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(services) >= REQUIRED
    assert all("healthcheck" in services[name] for name in REQUIRED)


def test_backend_spreads_turns_over_both_replicas_and_relays_events_through_redis():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    environment = services["backend"]["environment"]
    assert environment["RASA_URLS"] == "http://rasa-1:5005,http://rasa-2:5005"
    assert environment["REDIS_URL"].endswith("@redis:6379/0")
    assert int(environment["BACKEND_WORKERS"]) > 1
    for replica in ("rasa-1", "rasa-2"):
        assert services[replica]["environment"]["REDIS_HOST"] == "redis"


def test_redis_requires_the_password_everyone_is_given():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    redis = services["redis"]
    assert "--requirepass" in " ".join(redis["command"])
    assert redis["environment"]["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD:?")  # the healthcheck's ping
    assert services["backend"]["environment"]["REDIS_URL"].startswith("redis://:${REDIS_PASSWORD:?")
    for replica in ("rasa-1", "rasa-2"):  # the lock store (bot/endpoints.scaled.yml)
        assert services[replica]["environment"]["REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?")


def test_rasa_serves_its_api_with_the_token_and_its_healthcheck_sends_it():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    cmd = (ROOT / "docker" / "bot.Dockerfile").read_text().split("\nCMD ", 1)[1].splitlines()[0]
    # The image's command, which the replicas run: no token, no start (an empty one would match `?token=`).
    shell, flag, script = json.loads(cmd)
    assert (shell, flag) == ("sh", "-c") and '--enable-api --auth-token "${RASA_TOKEN:?' in script
    for replica in ("rasa-1", "rasa-2"):
        assert services[replica]["environment"]["RASA_TOKEN"].startswith("${RASA_TOKEN:?")
        assert "'token': os.environ['RASA_TOKEN']" in " ".join(services[replica]["healthcheck"]["test"])
