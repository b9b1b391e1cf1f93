"""`make image-models` (scripts/image_models.py): the images get the models as real files, never the links
into the host's model cache that var/models/ holds, and never a model its process would refuse."""

import io
import json
import tarfile
from pathlib import Path

import pytest

from backend.handoff.features import FEATURES
from backend.handoff.policy import LearntPolicy
from scripts import image_models
from scripts.image_models import StageError, stage


def rasa_archive(path: Path, members: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name in members:
            info = tarfile.TarInfo(name)
            info.size = 4
            archive.addfile(info, io.BytesIO(b"onnx"))
    return path


def handoff_policy(path: Path) -> Path:
    n = len(FEATURES)
    policy = LearntPolicy("test", (0.0,) * n, (1.0,) * n, (0.1,) * n, 0.0, 0.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(policy.to_json()))
    return path


@pytest.fixture
def linked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """var/models as `make model` leaves it: links into a cache folder outside the repository."""
    cache, models = tmp_path / "cache", tmp_path / "var" / "models"
    models.mkdir(parents=True)
    encoder = "components/train_SentenceEncoderFeaturizer0/encoder/model.onnx"
    model = rasa_archive(cache / "models" / "rasa-abc.tar.gz", ["metadata.json", encoder])
    policy = handoff_policy(cache / "handoff" / "policy-abc.json")
    (models / "current.tar.gz").symlink_to(model)
    (models / "handoff-policy.json").symlink_to(policy)
    (models / "lead-model.joblib").write_bytes(b"lead")  # a plain file, as ml.leads --save writes it
    # The lead model's own loader is checked apart (below): a real one takes a training run to make.
    monkeypatch.setitem(image_models.CHECKS, "lead-model.joblib", lambda path: None)
    return {"models": models, "current": models / "current.tar.gz", "out": tmp_path / "var" / "image-models"}


def test_the_staged_models_are_files_with_the_content_the_links_point_to(linked: dict[str, Path]):
    staged = stage(linked["out"], linked["models"], linked["current"])
    out = linked["out"]
    assert {str(item.target) for item in staged} == {
        "rasa/current.tar.gz",
        "backend/handoff-policy.json",
        "backend/lead-model.joblib",
    }
    for item in staged:
        copy = out / item.target
        assert copy.is_file() and not copy.is_symlink()
        assert copy.read_bytes() == item.source.resolve().read_bytes()
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert manifest["rasa/current.tar.gz"]["resolved"].endswith("cache/models/rasa-abc.tar.gz")
    assert not list(out.parent.glob("*.new"))


def test_an_optional_model_is_staged_when_present_and_a_stale_one_is_removed(linked: dict[str, Path]):
    out = linked["out"]
    (out / "backend").mkdir(parents=True)
    (out / "backend" / "left-over.json").write_text("{}")
    stage(out, linked["models"], linked["current"])
    assert not (out / "backend" / "left-over.json").exists()  # the context holds this run's models only
    assert not (out / "backend" / "uplift-policy.joblib").exists()


def test_a_dangling_link_stops_the_staging(linked: dict[str, Path]):
    target = linked["current"].resolve()
    target.unlink()
    with pytest.raises(StageError, match="make model"):
        stage(linked["out"], linked["models"], linked["current"])
    assert not linked["out"].exists()


def test_a_rasa_model_without_its_encoder_is_refused(linked: dict[str, Path]):
    rasa_archive(linked["current"].resolve(), ["metadata.json"])
    with pytest.raises(StageError, match=r"model\.onnx"):
        stage(linked["out"], linked["models"], linked["current"])


def test_a_broken_hand_off_policy_is_refused(linked: dict[str, Path]):
    linked["models"].joinpath("handoff-policy.json").resolve().write_text('{"format": "other"}')
    with pytest.raises(StageError, match="hand-off policy"):
        stage(linked["out"], linked["models"], linked["current"])


def test_a_lead_model_that_does_not_load_is_refused(tmp_path: Path):
    broken = tmp_path / "lead-model.joblib"
    broken.write_bytes(b"not a joblib file")
    with pytest.raises(StageError, match="does not load"):
        image_models.check_lead_model(broken)
