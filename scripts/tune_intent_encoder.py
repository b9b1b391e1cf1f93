"""Does fine-tuning all-MiniLM-L6-v2 for intents beat the frozen encoder on Banking77? (issue 21)

Measurement only: nothing here changes the bot. App venv (torch), three steps, each its own command:

    P=".venv-app/bin/python -m scripts.tune_intent_encoder"
    HF_HUB_OFFLINE=1 nice -n 15 $P train --run ce-5e-5 --loss ce --lr 5e-5 --epochs 3
    HF_HUB_OFFLINE=1 nice -n 15 $P test --runs ce-5e-5 [ce-1e-4 ...]      # the dev-best epoch, test once
    HF_HUB_OFFLINE=1 nice -n 15 $P train --run oos-ce --in-scope-only ...  # the 60 in-scope classes only
    HF_HUB_OFFLINE=1 nice -n 15 $P oos --checkpoint var/eval/tune_intent_encoder/oos-ce/epoch-1

- **Split.** Banking77 train.csv is split 90/10 per intent (nlu.oos.stratified_folds, seed 0, fold 0 = dev);
  the encoder trains on the 90 % ("fit") only. test.csv is read only by `test` and `oos`.
- **Losses.** `ce` (default): the standard recipe, mean-pooled MiniLM + a linear head over the intents,
  cross-entropy, AdamW (encoder lr, a larger head lr), linear warm-up then linear decay, batches of 32
  rows of similar length (shuffled), sequences cut at 64 tokens while training. `supcon`: supervised
  contrastive loss (Khosla et al. 2020), batches of 8 intents x 4 sentences, cosine / temperature as logits;
  no head.
- **Dev, after every epoch** (so a cut run still leaves figures): the bot's classifier (logistic regression
  C=30 on the unit embedding) fitted on fit embeddings and scored on dev; the checkpoint and the history are
  written to var/eval/tune_intent_encoder/<run>/ at once. The frozen encoder's dev figure, the same way, is
  measured by `test` from the embeddings it needs anyway.
- **Test** (`test`): over the runs named, the epoch with the best dev accuracy is chosen; the classifier is
  refitted on all train.csv rows (embedded by that encoder, which saw only the fit part) and test.csv is
  scored once, beside the frozen encoder under the same protocol: top-1, after FallbackClassifier's rule
  (0.5, ambiguity 0.1) and after that plus bot/config.yml's energy rejection (5 % rate, cross-fitted
  threshold), a fallback or rejection counting as wrong, as `make eval-nlu` counts it.
- **Out of scope** (`oos`): scripts/eval_oos.py's held-out-classes protocol (60 in / 17 out, its dev folds and
  choices) on a checkpoint's embeddings; that checkpoint must come from a `--in-scope-only` run.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlu.oos import stratified_folds
from scripts.paths import SHARED_DATA, VAR

RUNS = VAR / "eval" / "tune_intent_encoder"
SEED = 0
C = 30.0  # nlu/intent_classifier.py's default
FALLBACK_THRESHOLD, FALLBACK_AMBIGUITY = 0.5, 0.1  # bot/config.yml's FallbackClassifier
ENERGY_REJECT_RATE = 0.05  # bot/config.yml's out_of_scope setting


@dataclass(frozen=True)
class TrainConfig:
    loss: str = "ce"
    epochs: int = 3
    lr: float = 5e-5
    head_lr: float = 1e-3
    batch_size: int = 32
    max_seq_length: int = 64
    warmup_share: float = 0.1
    temperature: float = 0.05  # supcon only
    classes_per_batch: int = 8  # supcon only: batch = classes_per_batch x per_class
    per_class: int = 4
    threads: int = 1
    seed: int = SEED
    in_scope_only: bool = False


@dataclass(frozen=True)
class Split:
    fit_texts: list[str]
    y_fit: np.ndarray
    dev_texts: list[str]
    y_dev: np.ndarray


def read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], np.array([r["category"] for r in rows])


def in_scope_classes(labels: np.ndarray) -> list[str]:
    from scripts.eval_oos import choose_classes

    return choose_classes(labels)[0]


def load_split(data: Path, in_scope_only: bool) -> Split:
    texts, labels = read_csv(data / "train.csv")
    if in_scope_only:  # the 17 test-time out-of-scope intents must never reach the encoder
        keep = np.flatnonzero(np.isin(labels, in_scope_classes(labels)))
        texts, labels = [texts[i] for i in keep], labels[keep]
    fold = stratified_folds(labels, 10, SEED)
    fit_rows, dev_rows = np.flatnonzero(fold != 0), np.flatnonzero(fold == 0)
    return Split(
        [texts[i] for i in fit_rows], labels[fit_rows], [texts[i] for i in dev_rows], labels[dev_rows]
    )


def load_model(path: Path | None = None) -> Any:
    from sentence_transformers import SentenceTransformer

    from nlu.encoder_export import model_dir

    return SentenceTransformer(str(path or model_dir()), device="cpu", local_files_only=True)


def encode(model: Any, texts: list[str]) -> np.ndarray:
    return model.encode(texts, batch_size=128, normalize_embeddings=True, convert_to_numpy=True)


def fit_classifier(x: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=1000, random_state=42).fit(x, y)


def dev_accuracy(model: Any, split: Split) -> float:
    clf = fit_classifier(encode(model, split.fit_texts), split.y_fit)
    return float((clf.predict(encode(model, split.dev_texts)) == split.y_dev).mean())


# ---------------------------------------------------------------------------------------------- training


def supcon_batches(labels: np.ndarray, config: TrainConfig, rng: random.Random) -> list[list[int]]:
    """One epoch of label-grouped batches: every row once, per_class rows of classes_per_batch intents."""
    groups: list[list[int]] = []
    for label in sorted(set(labels.tolist())):
        rows = [int(i) for i in np.flatnonzero(labels == label)]
        rng.shuffle(rows)
        groups.extend(rows[i : i + config.per_class] for i in range(0, len(rows), config.per_class))
    rng.shuffle(groups)
    step = config.classes_per_batch
    return [[row for group in groups[i : i + step] for row in group] for i in range(0, len(groups), step)]


def length_grouped_batches(texts: list[str], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar-length texts: a batch is padded to its longest text, and on Banking77
    random batches of 32 carry 2.9x the real tokens, windows of 8 batches sorted by length 1.4x (measured),
    which halves the CPU per step on these shared cores."""
    order = list(range(len(texts)))
    rng.shuffle(order)
    window = size * 8
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: len(texts[i]))
        batches.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
    rng.shuffle(batches)
    return batches


def epoch_batches(split: Split, config: TrainConfig, rng: random.Random) -> list[list[int]]:
    if config.loss == "supcon":
        return supcon_batches(split.y_fit, config, rng)
    return length_grouped_batches(split.fit_texts, config.batch_size, rng)


def supcon_loss(embeddings: Any, labels: Any, temperature: float) -> Any:
    import torch

    z = torch.nn.functional.normalize(embeddings, dim=-1)
    logits = z @ z.T / temperature
    self_mask = torch.eye(len(z), dtype=torch.bool)
    logits = logits.masked_fill(self_mask, -1e9)  # an anchor is not its own candidate
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    has = positives.any(dim=1)
    per_anchor = -(log_prob * positives).sum(dim=1)[has] / positives.sum(dim=1)[has]
    return per_anchor.mean()


def pooled(model: Any, texts: list[str]) -> Any:
    """Mean-pooled token embeddings before the model's Normalize module: the head's input. (Normalizing
    first would cap every logit at the head's weight norm.)"""
    features = model.preprocess(texts)
    return model[1](model[0](features))["sentence_embedding"]


def make_optimizer(model: Any, head: Any, config: TrainConfig, steps: int) -> tuple[Any, Any]:
    import torch

    groups = [{"params": list(model.parameters()), "lr": config.lr}]
    if head is not None:  # a fresh head starts from nothing: it needs a larger step than the encoder
        groups.append({"params": list(head.parameters()), "lr": config.head_lr})
    optimizer = torch.optim.AdamW(groups, weight_decay=0.01)
    warmup = max(1, int(steps * config.warmup_share))

    def factor(s: int) -> float:
        return (s + 1) / warmup if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_epoch(
    model: Any, head: Any, split: Split, label_ids: Any, config: TrainConfig, opt: tuple[Any, Any], epoch: int
) -> float:
    """One pass over the fit rows; returns the mean training loss."""
    import torch

    optimizer, schedule = opt
    rng = random.Random(config.seed * 1000 + epoch)
    batches = epoch_batches(split, config, rng)
    model.train()
    losses: list[float] = []
    for step, batch in enumerate(batches, start=1):
        embeddings = pooled(model, [split.fit_texts[i] for i in batch])
        if head is None:
            loss = supcon_loss(embeddings, label_ids[batch], config.temperature)
        else:
            loss = torch.nn.functional.cross_entropy(head(embeddings), label_ids[batch])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        if step % 50 == 0:  # an epoch takes many minutes on shared cores: show that it moves
            print(
                f"tune: epoch {epoch} step {step}/{len(batches)} loss {np.mean(losses[-50:]):.3f}", flush=True
            )
    model.eval()
    return float(np.mean(losses))


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(payload, indent=2) + "\n")
    partial.replace(path)


def train(args: argparse.Namespace) -> int:
    import torch

    config = TrainConfig(
        loss=args.loss,
        epochs=args.epochs,
        lr=args.lr,
        head_lr=args.head_lr,
        threads=args.threads,
        in_scope_only=args.in_scope_only,
    )
    torch.set_num_threads(config.threads)  # the cores are shared with other workers
    torch.manual_seed(config.seed)
    run_dir = RUNS / args.run
    split = load_split(args.data, config.in_scope_only)
    classes = np.unique(split.y_fit)
    label_ids = torch.tensor(np.searchsorted(classes, split.y_fit))
    model = load_model()
    head = torch.nn.Linear(384, len(classes)) if config.loss == "ce" else None
    per_epoch = len(epoch_batches(split, config, random.Random(0)))
    opt = make_optimizer(model, head, config, config.epochs * per_epoch)
    record: dict[str, Any] = {
        "config": asdict(config),
        "split": {"fit": len(split.y_fit), "dev": len(split.y_dev), "classes": len(classes), "seed": SEED},
        "history": [],
    }
    # The frozen encoder's dev figure is measured by `test`, from the embeddings it computes anyway.
    # Truncation only while training: encoding and the saved checkpoint keep the model's own limit.
    full_length, model.max_seq_length = model.max_seq_length, config.max_seq_length
    for epoch in range(1, config.epochs + 1):
        wall, cpu = time.monotonic(), time.process_time()
        loss = train_epoch(model, head, split, label_ids, config, opt, epoch)
        train_wall, train_cpu = time.monotonic() - wall, time.process_time() - cpu
        model.max_seq_length = full_length  # encode and save as the pipeline will use it
        checkpoint = run_dir / f"epoch-{epoch}"
        model.save(str(checkpoint))
        accuracy = dev_accuracy(model, split)
        model.max_seq_length = config.max_seq_length
        record["history"].append(
            {
                "epoch": epoch,
                "dev_accuracy": round(accuracy, 4),
                "train_loss": round(loss, 4),
                "train_wall_seconds": round(train_wall),
                "train_cpu_seconds": round(train_cpu),
                "dev_cpu_seconds": round(time.process_time() - cpu - train_cpu),
                "load_average": os.getloadavg()[0],
                "checkpoint": str(checkpoint.relative_to(VAR.parent)),
            }
        )
        write_json(run_dir / "history.json", record)
        print(
            f"tune: epoch {epoch} dev {accuracy:.4f}; trained in {train_wall:.0f} s wall, "
            f"{train_cpu / 60:.1f} CPU-min",
            flush=True,
        )
    return 0


# ---------------------------------------------------------------------------------------------- test


def cached_embeddings(model: Any, name: str, texts: list[str]) -> np.ndarray:
    """Embeddings cached by model name (a checkpoint path or "frozen") and texts: the frozen encoder's are
    computed once for every comparison."""
    key = hashlib.sha256("\n".join([name, *texts]).encode()).hexdigest()[:20]
    path = RUNS / "embeddings" / f"{key}.npy"
    if path.is_file():
        return np.load(path)
    vectors = encode(model, texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def fallback_rule(logits: np.ndarray) -> np.ndarray:
    from scripts.eval_oos import fallback_rule as rule

    return rule(logits)


def energy_threshold(x: np.ndarray, y: np.ndarray) -> float:
    """bot/config.yml's rejection: the 5 % quantile of cross-fitted energy scores of the training rows."""
    from nlu import oos

    def fit_logits(xf: np.ndarray, yf: np.ndarray, xq: np.ndarray) -> np.ndarray:
        return fit_classifier(xf, yf).decision_function(xq)

    held_out = oos.cross_fitted_scores(x, y, "energy", fit_logits=fit_logits)
    return oos.threshold_for(held_out, ENERGY_REJECT_RATE)


def test_scores(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> dict[str, float]:
    from nlu import oos

    clf = fit_classifier(x, y)
    logits = clf.decision_function(x_test)
    correct = clf.classes_[logits.argmax(axis=1)] == y_test
    falls_back = fallback_rule(logits)
    rejected = oos.score({"method": "energy"}, None, logits) < energy_threshold(x, y)
    return {
        "top1": round(float(correct.mean()), 4),
        "after_fallback": round(float((correct & ~falls_back).mean()), 4),
        "after_fallback_and_energy": round(float((correct & ~falls_back & ~rejected).mean()), 4),
        "fallback_rate": round(float(falls_back.mean()), 4),
        "fallback_or_rejected_rate": round(float((falls_back | rejected).mean()), 4),
    }


def frozen_dev_accuracy(x: np.ndarray, labels: np.ndarray) -> float:
    """Epoch 0 of every run: the frozen encoder on the same fit / dev split as `load_split`."""
    dev = stratified_folds(labels, 10, SEED) == 0
    clf = fit_classifier(x[~dev], labels[~dev])
    return round(float((clf.predict(x[dev]) == labels[dev]).mean()), 4)


def best_checkpoint(runs: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run and epoch with the best dev accuracy over the runs named (a tie keeps the earlier)."""
    best: tuple[dict[str, Any], dict[str, Any]] | None = None
    for run in runs:
        record = json.loads((RUNS / run / "history.json").read_text())
        for row in record["history"]:
            if row["epoch"] > 0 and (best is None or row["dev_accuracy"] > best[1]["dev_accuracy"]):
                best = (record | {"run": run}, row)
    if best is None:
        raise SystemExit("tune: no finished epoch in the runs named")
    return best


def frozen_scores(
    texts: list[str], labels: np.ndarray, test_texts: list[str], test_labels: np.ndarray
) -> dict[str, float]:
    """The frozen encoder's dev and test figures, kept in frozen.json: they depend on no choice, so they can
    be computed while a run still trains (`test --frozen-only`)."""
    key = hashlib.sha256("\n".join([*texts, *test_texts]).encode()).hexdigest()[:20]
    path = RUNS / "frozen.json"
    if path.is_file() and json.loads(path.read_text()).get("key") == key:
        return json.loads(path.read_text())["scores"]
    model = load_model()
    x = cached_embeddings(model, "frozen", texts)
    scores = test_scores(x, labels, cached_embeddings(model, "frozen", test_texts), test_labels)
    scores["dev_accuracy"] = frozen_dev_accuracy(x, labels)
    write_json(path, {"key": key, "scores": scores})
    return scores


def test(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(args.threads)
    wall, cpu = time.monotonic(), time.process_time()
    texts, labels = read_csv(args.data / "train.csv")
    test_texts, test_labels = read_csv(args.data / "test.csv")
    if args.frozen_only:
        print(f"tune: frozen: {frozen_scores(texts, labels, test_texts, test_labels)}", flush=True)
        return 0
    record, row = best_checkpoint(args.runs)
    if record["config"]["in_scope_only"]:
        raise SystemExit("tune: an --in-scope-only run has not seen 17 intents; use `oos` for it")
    result: dict[str, Any] = {"chosen": {"run": record["run"], **row}, "config": record["config"]}
    path = VAR.parent / row["checkpoint"]
    model = load_model(path)
    x = cached_embeddings(model, str(path), texts)
    result["tuned"] = test_scores(x, labels, cached_embeddings(model, str(path), test_texts), test_labels)
    print(f"tune: tuned: {result['tuned']}", flush=True)
    result["frozen"] = frozen_scores(texts, labels, test_texts, test_labels)
    print(f"tune: frozen: {result['frozen']}", flush=True)
    result |= {
        "wall_seconds": round(time.monotonic() - wall),
        "cpu_seconds": round(time.process_time() - cpu),
    }
    write_json(RUNS / "test.json", result)
    print(json.dumps(result, indent=2), flush=True)
    return 0


# ---------------------------------------------------------------------------------------------- oos


def held_out_classes(args: argparse.Namespace) -> int:
    """scripts/eval_oos.py's Banking77 protocol, on the embeddings of an encoder tuned on the 60 in-scope
    classes only. Its dev folds hold out groups of those 60, which this encoder has seen: the dev choice of
    rate and method is made on an easier problem than test's (test's 17 intents it has never seen)."""
    import torch

    from scripts import eval_oos

    torch.set_num_threads(args.threads)
    wall, cpu = time.monotonic(), time.process_time()
    record = json.loads((args.checkpoint.parent / "history.json").read_text())
    if not record["config"]["in_scope_only"]:
        raise SystemExit("tune: the checkpoint saw all 77 intents; train it with --in-scope-only")
    texts, labels = read_csv(args.data / "train.csv")
    test_texts, test_labels = read_csv(args.data / "test.csv")
    in_scope, _ = eval_oos.choose_classes(labels)
    keep = np.isin(labels, in_scope)
    model = load_model(args.checkpoint)
    x = cached_embeddings(model, str(args.checkpoint), [t for t, k in zip(texts, keep, strict=True) if k])
    x_test = cached_embeddings(model, str(args.checkpoint), test_texts)
    dev = eval_oos.dev_stage(x, labels[keep], in_scope)
    choices = {
        "balanced": eval_oos.choose(dev, None, "alone"),
        "bot_rule": eval_oos.choose(dev, eval_oos.BOT_MAX_ACCURACY_COST, "fallback"),
    }
    for label, choice in choices.items():
        eval_oos.print_dev(choice, label)
    result = {
        "checkpoint": str(args.checkpoint),
        "dev_closed_set_accuracy": round(float(dev["closed"]["alone"].mean()), 4),
        "dev": choices,
        "test": eval_oos.test_stage(x, labels[keep], x_test, test_labels, in_scope, choices),
        "wall_seconds": round(time.monotonic() - wall),
        "cpu_seconds": round(time.process_time() - cpu),
    }
    write_json(RUNS / "oos.json", result)
    print(json.dumps(result["test"], indent=2), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "banking77")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the cores are shared)")
    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser("train", help="fine-tune; checkpoint + dev accuracy after every epoch")
    fit.add_argument("--run", required=True, help="name of the run directory under var/eval/")
    fit.add_argument("--loss", choices=("ce", "supcon"), default=TrainConfig.loss)
    fit.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    fit.add_argument("--lr", type=float, default=TrainConfig.lr)
    fit.add_argument("--head-lr", type=float, default=TrainConfig.head_lr)
    fit.add_argument("--in-scope-only", action="store_true", help="the 60 in-scope classes of eval_oos")
    scored = commands.add_parser("test", help="score test.csv once with the dev-best epoch of RUNS")
    scored.add_argument("--runs", nargs="+", default=[])
    scored.add_argument("--frozen-only", action="store_true", help="the frozen encoder's figures only")
    oos_parser = commands.add_parser("oos", help="held-out-classes protocol on an --in-scope-only checkpoint")
    oos_parser.add_argument("--checkpoint", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    handlers = {"train": train, "test": test, "oos": held_out_classes}
    return handlers[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
