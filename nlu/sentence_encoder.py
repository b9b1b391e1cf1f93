"""A torch-free sentence encoder: all-MiniLM-L6-v2 exported to ONNX, run with onnxruntime + tokenizers.

Reproduces sentence-transformers' `encode` (mean pooling over the attention mask, then L2 normalization) with
numpy only, so the Rasa venv (Python 3.10, no torch) and any other process can embed text. The directory
layout is written by `nlu.encoder_export`:

    encoder.json      manifest: max_seq_length, pooling, normalize, dim, model files and their sha256
    model.onnx        float32 graph: input_ids, attention_mask, token_type_ids -> token_embeddings
    model.int8.onnx   optional dynamically quantized copy
    tokenizer.json    the Hugging Face fast tokenizer of the model
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nlu.settings import bot_settings

MANIFEST = "encoder.json"
TOKENIZER = "tokenizer.json"
# The manifest's "model" names the graph the pipeline uses; "float32" and "int8" name the candidates.
DEFAULT_BATCH_SIZE = 64


class EncoderNotFoundError(FileNotFoundError):
    """The export directory is missing or incomplete."""


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of an export directory, with a clear error when the export was never made."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise EncoderNotFoundError(
            f"No sentence encoder export in '{directory}' ({MANIFEST} is missing). "
            "Run `make encoder` (or `python -m nlu.encoder_export --out DIR` in the app venv) and point "
            "SUPPORTDESK_ENCODER_DIR at DIR."
        )
    return json.loads(path.read_text())


def files_of(directory: Path) -> list[Path]:
    """The files a featurizer must copy to be self-contained: manifest, tokenizer, the chosen ONNX graph."""
    manifest = read_manifest(directory)
    paths = [Path(directory) / MANIFEST, Path(directory) / TOKENIZER, Path(directory) / manifest["model"]]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise EncoderNotFoundError(f"Incomplete sentence encoder export, missing: {', '.join(missing)}")
    return paths


def identity(directory: Path, model: str | None = None) -> str:
    """A hash of what determines the vectors (graph, tokenizer, pooling settings), not of where or when the
    export was made: two exports of the same model share it, so caches keyed by it carry over."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    chosen = model or manifest["model"]
    graph_hash = manifest.get("sha256", {}).get(chosen) or file_sha256(directory / chosen)
    relevant = {
        "graph": graph_hash,
        "tokenizer": file_sha256(directory / TOKENIZER),
        "max_seq_length": manifest["max_seq_length"],
        "pooling": manifest.get("pooling", "mean"),
        "normalize": manifest.get("normalize", True),
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks: the graphs are too large to hash in one read."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SentenceEncoder:
    """Embeds texts into L2-normalized vectors (384 dimensions for all-MiniLM-L6-v2)."""

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        max_seq_length: int,
        normalize: bool = True,
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int | None = None,
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.max_seq_length = max_seq_length
        self.normalize = normalize
        self.batch_size = batch_size
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # tokenizer.json ships with fixed padding to 128 and truncation at 128; sentence-transformers cuts
        # at max_seq_length and pads each batch only to its longest text, which is also much faster.
        self._tokenizer.enable_truncation(max_length=max_seq_length)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads if threads is not None else bot_settings().encoder_threads
        options.inter_op_num_threads = 1
        # Pool threads that spin-wait after each run burn a core between turns: with spinning, 2 threads
        # took 9.9 ms of CPU per one-sentence encode against 3.7 ms for 1 thread without (measured, 2 cores).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    @classmethod
    def from_dir(cls, directory: Path | str, model: str | None = None, **kwargs: Any) -> SentenceEncoder:
        """Loads an export directory; `model` (a file name in it) overrides the manifest's choice."""
        directory = Path(directory)
        manifest = read_manifest(directory)
        if manifest.get("pooling", "mean") != "mean":
            raise ValueError(f"Unsupported pooling {manifest['pooling']!r} in {directory / MANIFEST}")
        model_path = directory / (model or manifest["model"])
        if not model_path.is_file():
            raise EncoderNotFoundError(f"Missing ONNX graph {model_path}; re-run the encoder export.")
        return cls(
            model_path,
            directory / TOKENIZER,
            max_seq_length=int(manifest["max_seq_length"]),
            normalize=bool(manifest.get("normalize", True)),
            **kwargs,
        )

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Embeds `texts` into a float32 array of shape (len(texts), dim)."""
        size = batch_size or self.batch_size
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Sorting by length keeps the padding (and the wasted compute) inside each batch small.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            out[chunk] = self._encode_batch([texts[i] for i in chunk])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        tokens = self._session.run(None, feeds)[0]
        return pool(tokens, mask, self.normalize)


def pool(token_embeddings: np.ndarray, attention_mask: np.ndarray, normalize: bool = True) -> np.ndarray:
    """Mean pooling over the real tokens (as sentence-transformers' Pooling), then optional L2 norm."""
    weights = attention_mask[..., None].astype(np.float32)
    summed = (token_embeddings * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    if normalize:
        pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    return pooled.astype(np.float32)
