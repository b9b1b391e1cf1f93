"""The knowledge encoder's base model on onnxruntime (knowledge/embedder.py): the bot's own ONNX export gives
the vectors torch gives, so an index built by either answers the same; an export of other weights is refused,
and an adapted encoder, whose weights the export does not hold, stays on torch."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from knowledge.embedder import ADAPTATION, SentenceEmbedder, model_dir
from scripts.train_bot import encoder_dir

TEXTS = [
    "how long does shipping to canada take?",
    "my parcel hasn't arrived and it's been two weeks, what can I do",
    "what's the difference between basic and plus",
    "Plus: $14.99 a month or $149 a year; free express shipping and free returns.",
    " ".join(["A long article paragraph about returns and refunds that runs past the truncation."] * 30),
]


@pytest.fixture(scope="module")
def export() -> Path:
    return encoder_dir()  # the export make model builds for the bot (made here if missing)


def test_the_export_gives_the_vectors_torch_gives(export: Path) -> None:
    on_onnx = SentenceEmbedder(onnx_dir=export, threads=1).encode(TEXTS)
    on_torch = SentenceEmbedder(threads=1).encode(TEXTS)
    assert on_onnx.shape == on_torch.shape == (len(TEXTS), 384) and on_onnx.dtype == np.float32
    assert np.allclose(np.linalg.norm(on_onnx, axis=1), 1.0, atol=1e-5)
    assert float((on_onnx * on_torch).sum(axis=1).min()) > 0.99999
    assert float(np.abs(on_onnx - on_torch).max()) < 1e-4


def test_an_export_of_other_weights_is_refused(export: Path, tmp_path: Path) -> None:
    other = tmp_path / "export"
    shutil.copytree(export, other)
    manifest = json.loads((other / "encoder.json").read_text())
    (other / "encoder.json").write_text(json.dumps(manifest | {"source_sha256": "0" * 64}))
    with pytest.raises(RuntimeError, match="not an export"):
        SentenceEmbedder(onnx_dir=other).encode(["hello"])


def test_an_adapted_encoder_stays_on_torch(export: Path, tmp_path: Path) -> None:
    adapted = tmp_path / "adapted"
    shutil.copytree(model_dir(), adapted)
    (adapted / ADAPTATION).write_text(json.dumps({"name": "minilm-adapted-test", "files_sha256": "x"}))
    assert SentenceEmbedder(adapted, onnx_dir=export).onnx_dir is None
