"""Does fine-tuning all-MiniLM-L6-v2 for intents beat the frozen encoder on Banking77? (issue 21, slice 3)

Measurement only: nothing here ships into the bot. Run in the app venv (torch):
    HF_HUB_OFFLINE=1 nice -n 10 .venv-app/bin/python -m scripts.tune_intent_encoder

- **Split.** Banking77 train.csv is split 90/10 per intent (nlu.oos.stratified_folds, seed 0, fold 0 = dev);
  test.csv is read only for the final line.
- **Training.** Supervised contrastive loss (Khosla et al. 2020), the label-aware cousin of SetFit's pairs:
  each batch holds CLASSES_PER_BATCH intents x PER_CLASS sentences, every same-intent sentence in the batch
  is a positive of the anchor and every other one a negative; cosine similarities / TEMPERATURE are the
  logits. AdamW, LEARNING_RATE, linear warm-up then decay, plain torch loop (as knowledge/adapt.py).
- **Choice on dev.** After each epoch (up to EPOCHS), the bot's classifier (logistic regression, C=30, on the
  unit embedding) is fitted on the fit part and scored on dev; the epoch with the best dev accuracy is kept
  (epoch 0 = the frozen encoder, measured the same way).
- **Test.** The classifier is refitted on the fit part's embeddings by the chosen model and scored once on
  test.csv, beside the frozen encoder under the same protocol. Writes var/eval/tune_intent_encoder.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from nlu.oos import stratified_folds
from scripts.paths import SHARED_DATA, VAR

EPOCHS = 2
CLASSES_PER_BATCH = 8
PER_CLASS = 4
LEARNING_RATE = 2e-5
TEMPERATURE = 0.05
WARMUP_SHARE = 0.1
SEED = 0


def read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], np.array([r["category"] for r in rows])


def batches(labels: np.ndarray, rng: random.Random) -> list[list[int]]:
    """One epoch of label-grouped batches: every row once, PER_CLASS rows of CLASSES_PER_BATCH intents."""
    groups: list[list[int]] = []
    for label in sorted(set(labels.tolist())):
        rows = [int(i) for i in np.flatnonzero(labels == label)]
        rng.shuffle(rows)
        groups.extend(rows[i : i + PER_CLASS] for i in range(0, len(rows), PER_CLASS))
    rng.shuffle(groups)
    return [
        [row for group in groups[i : i + CLASSES_PER_BATCH] for row in group]
        for i in range(0, len(groups), CLASSES_PER_BATCH)
    ]


def supcon_loss(embeddings: Any, labels: Any) -> Any:
    import torch

    z = torch.nn.functional.normalize(embeddings, dim=-1)
    logits = z @ z.T / TEMPERATURE
    self_mask = torch.eye(len(z), dtype=torch.bool)
    logits = logits.masked_fill(self_mask, -1e9)  # an anchor is not its own candidate
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    has = positives.any(dim=1)
    per_anchor = -(log_prob * positives).sum(dim=1)[has] / positives.sum(dim=1)[has]
    return per_anchor.mean()


def encode(model: Any, texts: list[str]) -> np.ndarray:
    return model.encode(texts, batch_size=128, normalize_embeddings=True, convert_to_numpy=True)


def accuracy(x_fit: np.ndarray, y_fit: np.ndarray, x_eval: np.ndarray, y_eval: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=30.0, max_iter=1000, random_state=42).fit(x_fit, y_fit)
    return float((clf.predict(x_eval) == y_eval).mean())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "banking77")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", type=Path, default=VAR / "eval" / "tune_intent_encoder.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    from nlu.encoder_export import model_dir

    wall, cpu = time.monotonic(), time.process_time()
    torch.manual_seed(SEED)
    texts, labels = read_csv(args.data / "train.csv")
    test_texts, test_labels = read_csv(args.data / "test.csv")
    fold = stratified_folds(labels, 10, SEED)
    fit_rows, dev_rows = np.flatnonzero(fold != 0), np.flatnonzero(fold == 0)
    fit_texts, dev_texts = [texts[i] for i in fit_rows], [texts[i] for i in dev_rows]
    y_fit, y_dev = labels[fit_rows], labels[dev_rows]
    label_ids = torch.tensor(np.unique(labels, return_inverse=True)[1])

    model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
    frozen_fit = encode(model, fit_texts)
    history = [{"epoch": 0, "dev_accuracy": accuracy(frozen_fit, y_fit, encode(model, dev_texts), y_dev)}]
    print(f"tune: epoch 0 (frozen) dev accuracy {history[-1]['dev_accuracy']:.4f}", flush=True)
    best_state = {k: v.clone() for k, v in model.state_dict().items()}
    best = history[0]

    rng = random.Random(SEED)
    per_epoch = len(batches(y_fit, random.Random(SEED)))
    steps, warmup = args.epochs * per_epoch, max(1, int(args.epochs * per_epoch * WARMUP_SHARE))
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (steps - s) / (steps - warmup))
    )
    for epoch in range(1, args.epochs + 1):
        started = time.monotonic()
        model.train()
        for step, batch in enumerate(batches(y_fit, rng), start=1):
            features = model.preprocess([fit_texts[i] for i in batch])
            loss = supcon_loss(model(features)["sentence_embedding"], label_ids[fit_rows[batch]])
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            if step % 50 == 0:  # a CPU epoch takes many minutes on busy cores: show that it moves
                print(f"tune: epoch {epoch} step {step}/{per_epoch} loss {loss.item():.3f}", flush=True)
        model.eval()
        train_seconds = time.monotonic() - started
        dev_accuracy = accuracy(encode(model, fit_texts), y_fit, encode(model, dev_texts), y_dev)
        history.append({"epoch": epoch, "dev_accuracy": dev_accuracy, "train_seconds": round(train_seconds)})
        print(
            f"tune: epoch {epoch} dev accuracy {dev_accuracy:.4f}, trained in {train_seconds:.0f} s",
            flush=True,
        )
        if dev_accuracy > best["dev_accuracy"]:
            best = history[-1]
            best_state = {k: v.clone() for k, v in model.state_dict().items()}

    model.load_state_dict(best_state)
    tuned_test = accuracy(encode(model, fit_texts), y_fit, encode(model, test_texts), test_labels)
    frozen = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
    frozen_test = accuracy(frozen_fit, y_fit, encode(frozen, test_texts), test_labels)
    result = {
        "split": {"fit": len(fit_rows), "dev": len(dev_rows), "test": len(test_texts), "seed": SEED},
        "settings": {
            "epochs_tried": args.epochs,
            "classes_per_batch": CLASSES_PER_BATCH,
            "per_class": PER_CLASS,
            "learning_rate": LEARNING_RATE,
            "temperature": TEMPERATURE,
        },
        "history": history,
        "chosen_epoch": best["epoch"],
        "test_accuracy": {"frozen": round(frozen_test, 4), "tuned": round(tuned_test, 4)},
        "wall_seconds": round(time.monotonic() - wall),
        "cpu_seconds": round(time.process_time() - cpu),
        "torch_threads": torch.get_num_threads(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
