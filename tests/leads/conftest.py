"""A small lead model trained once per session on the simulation, and settings that serve it from the
test's own folder (tests never read the developer's var/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.core.config import Settings
from backend.risk import artifact
from ml import leads


@pytest.fixture(scope="session")
def lead_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    history = leads.simulate(buyers=900)
    report, model = leads.run(history, threshold=0.5)
    parts = leads.split(history.buyer)
    path = tmp_path_factory.mktemp("lead_model") / "lead-model.joblib"
    artifact.save(leads.to_artifact(model, history, parts["train"], parts["test"], report), path)
    return path


@pytest.fixture
def route_threshold() -> float:
    """LEAD_ROUTE_THRESHOLD of the test's app; a test parametrizes it to take either branch for sure."""
    return 0.5


@pytest.fixture
def served_model(lead_model_file: Path) -> Path:
    """LEAD_MODEL_PATH of the test's app; a test parametrizes it with a missing file for the rules' path."""
    return lead_model_file


@pytest.fixture
def settings(settings: Settings, served_model: Path, route_threshold: float) -> Settings:
    return settings.model_copy(
        update={"lead_model_path": served_model, "lead_route_threshold": route_threshold}
    )
