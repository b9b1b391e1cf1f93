"""Serving apart from training: the web app never loads ml/, and backend/ never imports it.

Training, the simulator, the commands and evaluation-data generators live in ml/ (ml/risk/, ml/pii_eval.py);
the backend keeps what scoring needs. Three checks, because each catches what the others cannot:
- the module list of a real process after `create_app()`, and again after it has loaded and scored saved
  models of both algorithms (an artifact that pickled a class from ml/ would pull training code in there,
  and fail outright in the backend image, which ships no ml/);
- the module paths a saved artifact names: every model on disk is unpickled by them, so they may not move;
- an `ast` walk of every file under backend/, lazy imports inside functions included.
"""

import ast
import dataclasses
import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from backend.risk import artifact
from ml.risk import training
from scripts.paths import ROOT
from tests.risk.helpers import churn_data, churn_models

# Where the training side lived before it moved: nothing may bring these names back into the app.
MOVED = (
    "backend.risk.simulator",
    "backend.risk.training",
    "backend.risk.bootstrap",
    "backend.risk.cli",
    "backend.risk.train_churn",
    "backend.risk.train_escalation",
    "backend.privacy.pii_eval",
)
# Serving modules that load with the first model (registry.load), not with the app. scikit-learn itself is
# no marker: backend/analytics/segments.py imports it at start-up, and its subpackages import each other
# (sklearn.calibration pulls in model_selection and metrics), so no scikit-learn module is training-only.
WITH_THE_FIRST_MODEL = ("backend.risk.artifact", "backend.risk.fast", "backend.risk.tabular")
# Every saved artifact is pickled with these paths (RiskModel, FastGBM/FastLogistic, FeatureSchema).
ARTIFACT_MODULES = {"backend.risk.artifact", "backend.risk.fast", "backend.risk.tabular"}

PROBE = """
import json, sys
from pathlib import Path
from backend.main import create_app

create_app()
after_app = sorted(sys.modules)
from backend.risk import artifact
for path in sys.argv[1:]:
    model = artifact.load(Path(path))
    model.score(model.holdout_X.iloc[0].to_dict())
print(json.dumps({"after_app": after_app, "after_scoring": sorted(sys.modules)}))
"""


def is_ml(name: str) -> bool:
    return name == "ml" or name.startswith("ml.")


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory) -> list[Path]:
    """A gradient-boosting and a logistic churn model, saved as training saves them."""
    trained, _ = churn_models()
    data = churn_data()
    folder = tmp_path_factory.mktemp("artifacts")
    paths = []
    for algorithm in ("gbm", "logistic"):
        result = dataclasses.replace(trained.result, chosen=algorithm)  # a copy: the helpers' run is shared
        model = training.to_artifact(result, data.X, data.y, "churn", "crm")
        paths.append(folder / f"{algorithm}.joblib")
        artifact.save(model, paths[-1])
    return paths


@pytest.mark.integration  # the app in a process of its own
def test_the_web_app_loads_no_training_code_even_while_scoring(saved_models):
    # Development settings: the probe builds the app and never serves, so the published secrets may stay.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "ENVIRONMENT": "development"}
    probe = [sys.executable, "-c", PROBE, *map(str, saved_models)]
    done = subprocess.run(probe, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    after_app, after_scoring = set(modules["after_app"]), set(modules["after_scoring"])
    assert "backend.risk.service" in after_app  # the probe did build the app with its risk routes
    assert not {m for m in after_app if is_ml(m)}
    assert not after_app & set(MOVED)
    assert not after_app & set(WITH_THE_FIRST_MODEL)
    assert set(WITH_THE_FIRST_MODEL) <= after_scoring  # the probe did load and score the models
    assert not {m for m in after_scoring if is_ml(m)}
    assert not after_scoring & set(MOVED)


class _Recorder(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.modules: set[str] = set()

    def find_class(self, module: str, name: str) -> object:
        self.modules.add(module)
        return super().find_class(module, name)


def test_a_saved_model_names_only_serving_modules(saved_models):
    for path in saved_models:
        # Plain pickle names the same classes as joblib's file; joblib only stores the arrays differently.
        recorder = _Recorder(pickle.dumps(artifact.load(path)))
        recorder.load()
        ours = {m for m in recorder.modules if m.split(".")[0] in ("backend", "ml")}
        assert ours == ARTIFACT_MODULES, f"{path.name} pickles {sorted(ours)}: saved models would not load"


def ml_imports(source: str, filename: str = "<test>") -> list[str]:
    """Every import of ml/ in `source` (module level or inside functions), as 'line: module'."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        found += [f"{node.lineno}: {name}" for name in names if is_ml(name)]
    return found


@pytest.mark.parametrize(
    "source",
    [
        "import ml.risk.training\n",
        "from ml.risk import training\n",
        "from ml import pii_eval\n",
        "def later():\n    from ml.risk.tabular import train\n",
        "import importlib\nimportlib.import_module('ml.risk.bootstrap')\n",
    ],
)
def test_the_import_check_sees_every_form_of_import(source):
    assert ml_imports(source)


def test_the_import_check_leaves_lookalikes_alone():
    assert not ml_imports("import mlflow\nfrom backend.ml import x\nfrom . import ml\n")


def test_backend_never_imports_ml():
    offending = {
        path.relative_to(ROOT).as_posix(): found
        for path in sorted((ROOT / "backend").rglob("*.py"))
        if (found := ml_imports(path.read_text(encoding="utf-8"), str(path)))
    }
    assert not offending, f"backend/ imports ml/ (training code in the web worker): {offending}"
