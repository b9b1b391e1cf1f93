"""The models a cluster starts with, made once per release by the Kubernetes Job `supportdesk-models`.

    python -m ml.cluster_models [--image-policy PATH]

1. The hand-off policy: on a cluster HANDOFF_MODEL_PATH names a file on the shared volume
   `supportdesk-handoff-policy`, which the weekly promotion (CronJob `supportdesk-train-handoff`,
   ml/decision_labels.py) relinks and every backend pod reloads (backend/handoff/served.py). The image
   carries its dev fit at HANDOFF_MODEL_PATH's default; it is copied onto the volume
   (`handoff-policies/image-<version>.json`) and served the first time this image's fit is met, as `make
   model` does locally: a new dev fit (new labelled data, trainer or Rasa model, so a new version) serves
   again in place of whatever was promoted before it; a policy promoted since this image's fit was installed
   keeps serving when the Job runs again.
2. The first churn and escalation models (ml/risk/bootstrap.py), into the `supportdesk-risk-models` volume,
   registered in the database. A Job runs one pod at a time, so backend pods no longer race to train them.
   Should Kubernetes ever start a second pod of the Job, the race still ends in one set of models: the later
   runs fail (the registry's unique kind and version, or the artifact's temporary file renamed by the
   winner) and their retry finds the models in production (docs/benchmarks.md, measured on PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
from pathlib import Path

from backend.core.config import Settings, get_settings
from backend.handoff.policy import LearntPolicy
from ml.handoff import link
from ml.risk import bootstrap

IMAGE_POLICY = Settings.model_fields["handoff_model_path"].default


def installed_copy(served: Path, version: str) -> Path:
    return served.parent / "handoff-policies" / f"image-{version}.json"


def seed_handoff_policy(image_policy: Path, served: Path) -> str:
    """Serve the image's dev fit from `served` unless it was installed before; a line saying what was done."""
    if image_policy.resolve() == served.resolve():
        return f"hand-off policy: {served} is the image's own file: nothing to install"
    try:
        policy = LearntPolicy.from_json(json.loads(image_policy.read_text()))
    except (OSError, ValueError, KeyError) as exc:
        return f"hand-off policy: the image has no loadable dev fit ({exc}): {served} left as it is"
    copy = installed_copy(served, policy.version)
    if copy.exists() and served.exists():
        return f"hand-off policy: {policy.name} was installed before; {served} keeps serving what it serves"
    copy.parent.mkdir(parents=True, exist_ok=True)
    partial = copy.with_name(copy.name + ".partial")
    shutil.copyfile(image_policy, partial)
    partial.replace(copy)  # whole or not at all: a reader never sees half a file
    link(copy, served)
    return f"hand-off policy: the image's {policy.name} now serves from {served}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--image-policy", type=Path, default=IMAGE_POLICY, help="the image's dev fit")
    args = parser.parse_args(argv)
    settings = get_settings()
    print(seed_handoff_policy(args.image_policy, settings.handoff_model_path))
    for line in asyncio.run(bootstrap.bootstrap(settings, bootstrap.parse([]))):
        print(line)


if __name__ == "__main__":
    main()
