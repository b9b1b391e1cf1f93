"""The Kubernetes Job `supportdesk-models` (ml/cluster_models.py): the image's dev-fit hand-off policy is
installed on the shared volume the first time this image's fit is met, a policy promoted since keeps serving
when the Job runs again, a new image's fit serves again; and the first risk models are made once."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from backend.handoff.features import FEATURES
from backend.handoff.policy import LearntPolicy
from backend.seed import seed
from ml.cluster_models import installed_copy, seed_handoff_policy
from ml.handoff import link
from scripts.paths import ROOT
from tests.conftest import migrate
from tests.dbcheck import rows


def write_policy(path: Path, version: str) -> Path:
    body = {
        "format": "supportdesk.handoff-policy.v1",
        "version": version,
        "features": list(FEATURES),
        "mean": [0.0] * len(FEATURES),
        "scale": [1.0] * len(FEATURES),
        "coef": [0.5] * len(FEATURES),
        "intercept": 0.0,
        "threshold": 0.6,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body))
    return path


def serving(served: Path) -> str:
    return LearntPolicy.from_json(json.loads(served.read_text())).name


def test_the_first_run_installs_the_images_fit_and_a_second_changes_nothing(tmp_path):
    image = write_policy(tmp_path / "image" / "handoff-policy.json", "dev-a")
    served = tmp_path / "volume" / "handoff-policy.json"
    assert "now serves" in seed_handoff_policy(image, served)
    assert serving(served) == "learnt@dev-a" and served.resolve() == installed_copy(served, "dev-a")
    assert "installed before" in seed_handoff_policy(image, served)
    assert served.resolve() == installed_copy(served, "dev-a")


def test_a_promoted_policy_survives_the_job_and_a_new_images_fit_replaces_it(tmp_path):
    image = write_policy(tmp_path / "image" / "handoff-policy.json", "dev-a")
    served = tmp_path / "volume" / "handoff-policy.json"
    seed_handoff_policy(image, served)
    promoted = write_policy(served.parent / "handoff-policies" / "decisions-log-9.json", "log-9")
    link(promoted, served)  # what the weekly promotion does
    seed_handoff_policy(image, served)  # the Job again, same image (a re-applied release)
    assert serving(served) == "learnt@log-9"
    write_policy(image, "dev-b")  # a new release: new dev inputs, a new fit
    assert "now serves" in seed_handoff_policy(image, served)
    assert serving(served) == "learnt@dev-b" and promoted.is_file()


def test_nothing_is_installed_without_a_loadable_image_policy_or_a_volume(tmp_path):
    served = tmp_path / "volume" / "handoff-policy.json"
    assert "no loadable dev fit" in seed_handoff_policy(tmp_path / "absent.json", served)
    assert not served.parent.exists()
    image = write_policy(tmp_path / "handoff-policy.json", "dev-a")
    assert "nothing to install" in seed_handoff_policy(image, image)  # the path is the image's own


@pytest.mark.integration
@pytest.mark.slow
def test_the_jobs_command_makes_the_cluster_models_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    migrate(url)
    engine = create_engine(url)
    with Session(engine) as session:
        seed(session, 30, random.Random(7))
    engine.dispose()
    image = write_policy(tmp_path / "image" / "handoff-policy.json", "dev-a")
    served = tmp_path / "handoff" / "handoff-policy.json"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "HANDOFF_MODEL_PATH": str(served),
        "RISK_MODEL_DIR": str(tmp_path / "risk"),
        "RISK_TELCO_CSV": str(tmp_path / "absent.csv"),
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "ml.cluster_models", "--image-policy", str(image)]

    def run() -> str:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    first = run()
    assert "learnt@dev-a now serves" in first
    assert "churn: trained on" in first and "escalation: trained on" in first
    second = run()
    assert "installed before" in second and second.count("already in production") == 2
    versions = rows(url, "SELECT kind, status FROM model_versions ORDER BY id")
    kinds = [(v["kind"], v["status"]) for v in versions]
    assert kinds == [("churn", "production"), ("escalation", "production")]
    assert serving(served) == "learnt@dev-a"
