"""Adapt the encoder to a knowledge base: fine-tune all-MiniLM-L6-v2 on (question, passage) pairs.

The base model was trained on generic web pairs; a support knowledge base has its own vocabulary and its
own way of asking ("how do I block my card" -> an article that says "call the 24-hour helpline"). Pairs of a
question customers asked and the article passage that answered it (a citation the customer confirmed, or a
suggestion an agent linked) teach the encoder that mapping. Training uses the in-batch-negatives loss of
sentence-transformers' `MultipleNegativesRankingLoss` (every other passage in the batch is a negative),
written out here as a plain torch loop, so it needs nothing beyond torch and sentence-transformers.

The result is a sentence-transformers directory named after the SHA-256 of its files
(`<root>/minilm-adapted-<hash>`), with `adaptation.json` describing how it was trained. Point
`KB_ENCODER_DIR` at it to use it; the index records the encoder's name (which carries the hash), so opening
an index built by another encoder rebuilds it instead of mixing vectors of two models.

Run: python -m knowledge.adapt PAIRS.jsonl [--out var/kb_encoder]   (one {"question", "passage"} per line)
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from backend.core.config import get_settings
from knowledge.embedder import ADAPTATION, MODEL_NAME, directory_digest, model_dir

DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "var" / "kb_encoder"


@dataclass(frozen=True)
class AdaptConfig:
    epochs: int = 2
    learning_rate: float = 3e-5
    batch_size: int = 32
    max_seq_length: int = 256  # MiniLM's limit; long passages are cut like at indexing time
    scale: float = 20.0  # cosine similarities times this are the logits (sentence-transformers' default)
    warmup_share: float = 0.1
    seed: int = 0
    # Also the passage -> question direction of the in-batch loss (each passage picks its question).
    symmetric: bool = False


# A training example: (question, passage), or (question, passage, a wrong passage) with a hard negative that
# joins the batch's other passages as one more column of the question's softmax.
Example = tuple[str, str] | tuple[str, str, str]


def _config_fields(config: AdaptConfig) -> dict[str, Any]:
    """The settings in the training key; `symmetric` only when on, so models trained before it existed keep
    their key (and their cache entry)."""
    fields = asdict(config)
    if not config.symmetric:
        del fields["symmetric"]
    return fields


def training_key(pairs: Sequence[Example], config: AdaptConfig, base: Path) -> str:
    """A digest of everything training depends on: the same key means the same model can be reused."""
    digest = hashlib.sha256(json.dumps([list(p) for p in pairs]).encode())
    digest.update(json.dumps(_config_fields(config), sort_keys=True).encode())
    digest.update(directory_digest(base).encode())
    return digest.hexdigest()


def _batches(pairs: Sequence[Example], size: int, rng: random.Random) -> list[list[Example]]:
    """Shuffled batches in which no passage repeats (it would be its own false negative) and passages are of
    similar length: a batch is padded to its longest passage, so mixing lengths wastes most of the time."""
    order = list(pairs)
    rng.shuffle(order)
    window = size * 8
    order = [p for w in range(0, len(order), window) for p in sorted(order[w : w + window], key=_length)]
    batches: list[list[Example]] = []
    filling: list[list[Example]] = []
    for pair in order:
        home = next((b for b in filling if all(p[1] != pair[1] for p in b)), None)
        if home is None:
            home = []
            batches.append(home)
            filling.append(home)
        home.append(pair)
        if len(home) == size:
            filling.remove(home)
    rng.shuffle(batches)
    return batches


def _length(pair: Example) -> int:
    return len(pair[1])


def _loss(torch: Any, queries: Any, passages: Any, batch: list[Example], config: AdaptConfig) -> Any:
    """In-batch softmax of each question over the batch's passages and hard negatives. A column holding the
    question's own passage text (a hard negative that is another question's positive) is masked out: it is
    not a negative."""
    texts = [p[1] for p in batch] + [p[2] for p in batch if len(p) == 3]
    logits = queries @ passages.T * config.scale
    own = torch.tensor([[t == p[1] and j != i for j, t in enumerate(texts)] for i, p in enumerate(batch)])
    logits = logits.masked_fill(own, float("-inf"))
    target = torch.arange(len(batch))
    loss = torch.nn.functional.cross_entropy(logits, target)
    if config.symmetric:
        loss = (loss + torch.nn.functional.cross_entropy(logits[:, : len(batch)].T, target)) / 2
    return loss


def train(pairs: Sequence[Example], base: Path, config: AdaptConfig) -> Any:
    """Fine-tune the model in `base` on the pairs; returns the SentenceTransformer (in eval mode)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # for the Hugging Face libraries: the model is on disk
    import torch
    from sentence_transformers import SentenceTransformer

    if len({p[1] for p in pairs}) < 2:
        raise ValueError("adaptation needs pairs with at least two different passages")
    torch.manual_seed(config.seed)
    # KB_EMBED_THREADS, as for encoding (knowledge/embedder.py): on a busy machine two threads spin-wait.
    threads = get_settings().kb_embed_threads
    if threads > 0:
        torch.set_num_threads(threads)
    rng = random.Random(config.seed)
    model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    model.max_seq_length = config.max_seq_length
    steps = config.epochs * len(_batches(pairs, config.batch_size, random.Random(config.seed)))
    warmup = max(1, int(steps * config.warmup_share))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (steps - s) / (steps - warmup))
    )

    def embed(texts: list[str]) -> Any:
        return torch.nn.functional.normalize(model(model.tokenize(texts))["sentence_embedding"], dim=-1)

    model.train()
    for _ in range(config.epochs):
        for batch in _batches(pairs, config.batch_size, rng):
            if len(batch) < 2:
                continue  # no negative to learn from
            texts = [p[1] for p in batch] + [p[2] for p in batch if len(p) == 3]
            loss = _loss(torch, embed([p[0] for p in batch]), embed(texts), batch, config)
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    model.eval()
    return model


def adapt(
    pairs: Sequence[Example],
    root: Path = DEFAULT_ROOT,
    config: AdaptConfig | None = None,
    base: Path | None = None,
    trained_on: str = "",
) -> Path:
    """Train (or reuse, when the same pairs, settings and base model were trained before) and save.

    Returns the model directory, `<root>/minilm-adapted-<first 16 hex digits of its files' SHA-256>`.
    """
    config = config or AdaptConfig()
    base = base or model_dir()
    key = training_key(pairs, config, base)
    root.mkdir(parents=True, exist_ok=True)
    for existing in sorted(root.glob("minilm-adapted-*")):
        meta = existing / ADAPTATION
        if meta.is_file() and json.loads(meta.read_text()).get("training_key") == key:
            return existing
    model = train(pairs, base, config)
    staging = Path(tempfile.mkdtemp(prefix=".adapt-", dir=root))
    try:
        model.save(str(staging))
        digest = directory_digest(staging)
        meta = {
            "name": f"{MODEL_NAME}+adapted-{digest[:16]}",
            "base": MODEL_NAME,
            "files_sha256": digest,
            "training_key": key,
            "pairs": len(pairs),
            "passages": len({p[1] for p in pairs}),
            "hard_negatives": sum(len(p) == 3 for p in pairs),
            "trained_on": trained_on,
            "config": asdict(config),
        }
        (staging / ADAPTATION).write_text(json.dumps(meta, indent=1) + "\n")
        target = root / f"minilm-adapted-{digest[:16]}"
        if target.exists():  # the same bytes were saved before under another training key
            shutil.rmtree(staging)
        else:
            staging.replace(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def read_pairs(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question, passage = str(row["question"]).strip(), str(row["passage"]).strip()
        except (ValueError, KeyError, TypeError) as exc:
            raise SystemExit(f"{path}:{number}: expected a JSON object with question and passage") from exc
        if question and passage:
            pairs.append((question, passage))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("pairs", type=Path, help="JSON lines with question and passage")
    parser.add_argument("--out", type=Path, default=DEFAULT_ROOT, help="where adapted models are kept")
    parser.add_argument("--epochs", type=int, default=AdaptConfig.epochs)
    parser.add_argument("--learning-rate", type=float, default=AdaptConfig.learning_rate)
    parser.add_argument("--batch-size", type=int, default=AdaptConfig.batch_size)
    args = parser.parse_args()
    pairs = read_pairs(args.pairs)
    config = AdaptConfig(epochs=args.epochs, learning_rate=args.learning_rate, batch_size=args.batch_size)
    target = adapt(pairs, args.out, config, trained_on=str(args.pairs))
    print(f"adapted encoder: {target}  (set KB_ENCODER_DIR={target} to use it)")


if __name__ == "__main__":
    main()
