"""The risk tests' session fixture: the production models as bootstrap leaves them, installed once.

Registering and promoting a model trains nothing (tests/risk/helpers.py trains each once per session) but
saves its artefact, audits its fairness on the hold-out and runs the promotion gate: seconds per model under
load. A test that wants them gets a copy of one seeded SQLite file they were installed in, and of their
artefact files, the way each database is a copy of the session's seeded file (tests/conftest.py)."""

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import copy_sqlite
from tests.risk.helpers import churn_models, escalation_model, install


async def install_production_models(database_url: str, model_dir: Path) -> dict[str, int]:
    """Production churn (full) and escalation models, and the weak churn model as a spare candidate, in this
    order; returns the version ids by name ("churn", "escalation", "weak")."""
    full, weak = churn_models()
    return {
        "churn": await install(database_url, full, model_dir),
        "escalation": await install(database_url, escalation_model(), model_dir),
        "weak": await install(database_url, weak, model_dir, promote=False),
    }


@dataclass(frozen=True)
class InstalledModels:
    """A seeded SQLite file with the production models installed, their artefacts (paths in the database are
    relative to `model_dir`, so a copy of the folder serves a copy of the file) and their version ids."""

    database: Path
    model_dir: Path
    ids: dict[str, int]


@pytest.fixture(scope="session")
def installed_models(seeded_sqlite: Path, tmp_path_factory: pytest.TempPathFactory) -> InstalledModels:
    work = tmp_path_factory.mktemp("installed_models")
    database, model_dir = work / "models.db", work / "models"
    copy_sqlite(seeded_sqlite, database)
    ids = asyncio.run(install_production_models(f"sqlite:///{database}", model_dir))
    return InstalledModels(database, model_dir, ids)
