"""docker-compose.yml is complete and valid (checked offline by Debian's docker-compose), and the images it
builds carry what their processes load: code, models (as files, not links into the host's cache), settings."""

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest
import yaml

from backend.core.config import REPO_ROOT, Settings
from scripts.image_models import plan
from scripts.paths import APP_PYTHON, BOT_BIN, ROOT

RASA_MODEL = "rasa/current.tar.gz"  # in var/image-models/ (scripts/image_models.py)

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


def test_rasa_serves_its_api_with_the_token_from_its_environment_and_its_healthcheck_sends_it():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    # The image's command, which the replicas run: bot/rasa_run.py hands Rasa RASA_TOKEN in memory (a command
    # line is public, `ps`) and exits without one (an empty token would match `?token=`).
    command = dockerfile(BOT_DOCKERFILE)["rasa"].cmd
    assert command[:3] == ["python", "-m", "rasa_run"] and "--enable-api" in command
    assert not any("--auth-token" in part or "RASA_TOKEN" in part or "$" in part for part in command)
    for replica in ("rasa-1", "rasa-2"):
        assert services[replica]["environment"]["RASA_TOKEN"].startswith("${RASA_TOKEN:?")
        assert "'token': os.environ['RASA_TOKEN']" in " ".join(services[replica]["healthcheck"]["test"])


# ---------------------------------------------------------------------- what the images carry and mount


@dataclass
class Stage:
    workdir: str = "/"
    copies: list[tuple[list[str], str]] = field(default_factory=list)  # (sources in the context, target)
    cmd: list[str] = field(default_factory=list)


BOT_DOCKERFILE = ROOT / "docker" / "bot.Dockerfile"
APP_DOCKERFILE = ROOT / "docker" / "app.Dockerfile"
RASA_K8S_DOCKERFILE = ROOT / "docker" / "kubernetes" / "rasa.Dockerfile"


def dockerfile(path: Path) -> dict[str, Stage]:
    """The stages of a Dockerfile by name (`AS name`, else `final` for the last): WORKDIR, COPY and CMD as a
    build would see them (an inherited stage starts with its base's). Only the instructions these use."""
    text = re.sub(r"\\\n", " ", path.read_text())
    stages: dict[str, Stage] = {}
    current = Stage()
    for line in (raw.strip() for raw in text.splitlines()):
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        words = rest.split()
        if instruction == "FROM":
            base = stages.get(words[0])
            current = Stage(base.workdir, list(base.copies), list(base.cmd)) if base else Stage()
            stages[words[2] if len(words) > 2 and words[1].upper() == "AS" else "final"] = current
        elif instruction == "WORKDIR":
            current.workdir = str(PurePosixPath(current.workdir) / words[0])
        elif instruction == "COPY":
            *sources, target = [w for w in words if not w.startswith("--")]
            absolute = str(PurePosixPath(current.workdir) / target) + ("/" if target.endswith("/") else "")
            current.copies.append((sources, absolute))
        elif instruction == "CMD":
            current.cmd = json.loads(rest)
    return stages


def copied_to(stage: Stage, source: str) -> str:
    [target] = [target for sources, target in stage.copies if source in sources]
    return target


def test_compose_runs_rasa_from_the_image_with_its_model_and_mounts_no_model_links():
    """var/models holds links into the host's model cache, which do not exist in a container: no service
    mounts it; the Rasa replicas run the image target that carries the model."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            assert "var/models" not in volume.split(":")[0] and not volume.startswith("./var"), (name, volume)
    for replica in ("rasa-1", "rasa-2"):
        build = services[replica]["build"]
        assert (build["dockerfile"], build["target"]) == ("docker/bot.Dockerfile", "rasa")
        assert services[replica]["image"].split(":")[0] == "supportdesk-rasa"
    assert services["action-server"]["build"]["target"] == "bot"


@pytest.mark.parametrize("path", [BOT_DOCKERFILE, RASA_K8S_DOCKERFILE], ids=["compose", "kubernetes"])
def test_the_rasa_images_carry_the_staged_model_where_their_command_serves_it(path: Path):
    command = dockerfile(BOT_DOCKERFILE)["rasa"].cmd
    served = command[command.index("--model") + 1]
    stage = dockerfile(path)["rasa" if path == BOT_DOCKERFILE else "final"]
    assert copied_to(stage, f"var/image-models/{RASA_MODEL}") == served


def test_the_backend_image_carries_its_models_where_its_settings_look():
    """The learnt hand-off policy and the lead model (else the rules decide, quietly but for a log line), an
    uplift policy if one was trained, the knowledge calibration; the risk models' folder is a volume."""
    stage = dockerfile(APP_DOCKERFILE)["final"]
    models = PurePosixPath(copied_to(stage, "var/image-models/backend/"))
    in_image = {
        str(models / target.name)
        for _, target, _ in plan(Path("m"), Path("c"))
        if target.parts[0] == "backend"
    }
    defaults = Settings.model_fields
    for setting in ("handoff_model_path", "lead_model_path", "uplift_policy_path"):
        relative = defaults[setting].default.relative_to(REPO_ROOT)
        assert str(PurePosixPath(stage.workdir) / relative.as_posix()) in in_image, setting
    assert (ROOT / "knowledge" / "calibration.json").is_file() and copied_to(
        stage, "knowledge"
    ) == "/app/knowledge"
    risk = str(
        PurePosixPath(stage.workdir) / defaults["risk_model_dir"].default.relative_to(REPO_ROOT).as_posix()
    )
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert f"risk-models:{risk}" in services["backend"]["volumes"]
    # The image's command makes the first risk models, as `make run` does, with the code it needs.
    assert "python -m ml.risk.bootstrap" in stage.cmd[-1] and copied_to(stage, "ml") == "/app/ml"


def test_every_copied_file_is_in_the_build_context():
    """Sources exist in the repository and .dockerignore keeps them; from var/ only the staged models."""
    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert "var/*" in ignore and "!var/image-models" in ignore
    staged = {f"var/image-models/{target}" for _, target, _ in plan(Path("m"), Path("c"))} | {
        "var/image-models/backend/"
    }
    for path in (BOT_DOCKERFILE, APP_DOCKERFILE, RASA_K8S_DOCKERFILE):
        for stage in dockerfile(path).values():
            for sources, _ in stage.copies:
                for source in sources:
                    if source.startswith("var/"):
                        assert source in staged, (path.name, source)
                    else:
                        assert (ROOT / source).exists() and source.split("/")[0] not in ignore, (
                            path.name,
                            source,
                        )


def image_tree(path: Path, stage: str, into: Path) -> Path:
    """The files of `stage` that come from the repository (not the staged models), laid out as in the image
    under `into`; returns its WORKDIR there."""
    built = dockerfile(path)[stage]
    for sources, target in built.copies:
        for source in (s for s in sources if not s.startswith("var/")):
            destination = into / target.lstrip("/")
            if target.endswith("/"):
                destination = destination / Path(source).name
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, destination, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(ROOT / source, destination)
    return into / built.workdir.lstrip("/")


def test_the_backend_image_has_the_code_its_commands_run(tmp_path: Path):
    """Everything the CMD, the Kubernetes command, the migration and model Jobs and the CronJob import comes
    from what the image copies (with this checkout's app venv standing in for the image's pip install)."""
    workdir = image_tree(APP_DOCKERFILE, "final", tmp_path)
    modules = (
        "backend.main, backend.seed, ml.risk.bootstrap, ml.leads, scripts.wait_for_migrations, "
        "ml.cluster_models, ml.decision_labels"  # the Kubernetes model Job's and hand-off CronJob's commands
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    check = [str(APP_PYTHON), "-c", f"import {modules}; import alembic.config"]
    result = subprocess.run(check, cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (workdir / "alembic.ini").is_file() and (workdir / "knowledge" / "calibration.json").is_file()


def test_the_rasa_image_has_the_code_its_command_runs(tmp_path: Path):
    """The launcher, the hub channel and the NLU components Rasa loads from the model, and the actions."""
    workdir = image_tree(BOT_DOCKERFILE, "rasa", tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = f"{tmp_path / 'app'}{os.pathsep}{tmp_path / 'app' / 'bot'}"
    modules = "rasa_run, channels.hub, nlu.featurizer, nlu.intent_classifier, nlu.sentiment, actions"
    check = [str(BOT_BIN / "python"), "-c", f"import {modules}"]
    result = subprocess.run(check, cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("credentials.yml", "endpoints.scaled.yml"):
        assert (workdir / name).is_file()
