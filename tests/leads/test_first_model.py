"""`make run`'s first lead model: trained once when LEAD_MODEL_PATH is missing, left alone when it exists."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.core.config import get_settings
from backend.risk import artifact
from ml import leads


@pytest.fixture
def model_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """LEAD_MODEL_PATH in the environment, read afresh: main() takes the cached get_settings()."""
    path = tmp_path / "lead-model.joblib"
    monkeypatch.setenv("LEAD_MODEL_PATH", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_the_first_model_is_trained_when_missing_and_kept_when_present(
    model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads.main(["--save", "--if-missing", "--quiet", "--buyers", "600"])
    assert "saved" in capsys.readouterr().out
    assert artifact.load(model_path) is not None
    written = model_path.stat().st_mtime_ns
    leads.main(["--save", "--if-missing", "--quiet"])
    assert "present" in capsys.readouterr().out and model_path.stat().st_mtime_ns == written
