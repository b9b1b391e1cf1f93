"""docker-compose.yml is complete and valid (checked offline by Debian's docker-compose)."""

import shutil
import subprocess

import pytest
import yaml

from scripts.paths import ROOT

# Two Rasa replicas behind the backend's failover (RASA_URLS), sharing the tracker store and the lock store.
REQUIRED = {"postgres", "redis", "rabbitmq", "rasa-1", "rasa-2", "action-server", "backend"}


def test_compose_file_validates():
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed; scripts/bootstrap.sh installs it (Debian package)")
    result = subprocess.run([binary, "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_compose_has_every_service_with_a_healthcheck():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(services) >= REQUIRED
    assert all("healthcheck" in services[name] for name in REQUIRED)


def test_backend_spreads_turns_over_both_replicas_and_relays_events_through_redis():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    environment = services["backend"]["environment"]
    assert environment["RASA_URLS"] == "http://rasa-1:5005,http://rasa-2:5005"
    assert environment["REDIS_URL"].startswith("redis://redis:")
    assert int(environment["BACKEND_WORKERS"]) > 1
    for replica in ("rasa-1", "rasa-2"):
        assert services[replica]["environment"]["REDIS_HOST"] == "redis"
