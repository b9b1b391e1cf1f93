"""docker-compose.yml is complete and valid (checked offline by Debian's docker-compose)."""

import shutil
import subprocess

import pytest
import yaml

from scripts.paths import ROOT

REQUIRED = {"postgres", "redis", "rabbitmq", "rasa", "action-server", "backend"}


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
