"""Probes of the hand-off policy on writers it has not seen: one more input, other threshold rules (issue 14).

    python -m ml.handoff_probes after-offer REPLAY  # whether the bot's last message offered a person
    python -m ml.handoff_probes thresholds PARSES   # other rules for choosing the threshold

PARSES is a dev parse file (ml/parse_turns.py; `make model` caches one), REPLAY the dev replay that
`make eval-decisions ARGS=--dev-only` writes (var/eval/decisions_dev_replay.json). Each probe prints, per dev
writer held out and pooled, the learnt policy's precision and recall with and without the change, every
choice (C, threshold) made on the other writers alone, as `python -m ml.handoff writers` does.
Dev only; the test split is never read. Neither is shipped (docs/benchmarks.md, "Three more inputs
tried"): they are kept so the finding can be checked again as dev grows. Both probe the cue features alone
(backend/handoff/features.py), as they were run before the policy gained its text models; those are
scripts/handoff_text_dev.py's study.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut

from backend.handoff.features import FEATURES, handoff_features, vector
from backend.handoff.policy import LearntPolicy
from ml import conversations
from ml import handoff as trainer
from ml.agreement import read_replay

# The bot's offers of a person (actions/messages.py) name one and ask; a reply that only mentions one
# ("just ask for a person") does not ask. The replay keeps the replies' texts, not their buttons.
PERSON_WORDS = re.compile(
    r"\b(?:person|someone|somebody|member of our team|billing team|connect you)\b", re.IGNORECASE
)
# Threshold rules: the argmax of F-beta (of F1 is what ml/handoff.py shipped before the middle of its band,
# ml/handoff_threshold.py), or the highest recall at an out-of-fold precision floor.
THRESHOLD_RULES = ("f1", "f2", "precision>=0.93", "precision>=0.90")

Counts = tuple[int, int, int]  # true positives, false positives, false negatives


def offers_a_person(reply: str) -> bool:
    return "?" in reply and PERSON_WORDS.search(reply) is not None


def counts(y: np.ndarray, predicted: np.ndarray) -> Counts:
    hits = predicted & (y == 1)
    return int(hits.sum()), int((predicted & (y == 0)).sum()), int((~predicted & (y == 1)).sum())


def figures(c: Counts) -> str:
    tp, fp, fn = c
    return f"{tp / max(tp + fp, 1):.3f} / {tp / max(tp + fn, 1):.3f} (TP {tp}, FP {fp}, FN {fn})"


def fitted_on(X: np.ndarray, y: np.ndarray, writers: np.ndarray) -> tuple[LearntPolicy, np.ndarray]:
    """ml/handoff.py's whole procedure on these rows (its threshold rule: F1), and its out-of-fold scores."""
    policy, choice = trainer.fit_rows(X, y, writers, "probe", LeaveOneGroupOut())
    return policy, choice.scores


def held_out(variants: dict[str, np.ndarray], y: np.ndarray, writers: np.ndarray) -> dict[str, Counts]:
    """Per variant (its rows' features), each writer scored by the procedure fitted on the others; prints each
    writer's row and returns the pooled counts."""
    pooled = {name: (0, 0, 0) for name in variants}
    for held in sorted(set(writers)):
        test, train = writers == held, writers != held
        row = []
        for name, X in variants.items():
            policy, _ = fitted_on(X[train], y[train], writers[train])
            c = counts(y[test], trainer._decided(X[test], trainer.scores(policy, X[test]), policy.threshold))
            pooled[name] = tuple(a + b for a, b in zip(pooled[name], c, strict=True))  # type: ignore[assignment]
            row.append(f"{name} {figures(c)}")
        print(f"writer {held} held out: " + "; ".join(row), flush=True)
    return pooled


def _parse_rows(parses_file: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dev = conversations.of_split(conversations.load(), "dev")
    parses = json.loads(parses_file.read_text())["conversations"]
    X, y, _ = trainer.rows(dev, parses)
    return X, y, trainer.writer_groups(dev, parses)


def _replay_rows(replay_file: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Policy rows from a dev replay made with the policy off: every replayed turn up to the bot's own
    hand-off (that turn is the dialogue's), with the policy's features and whether the bot's reply before
    it offered a person (the last column)."""
    replay = read_replay(replay_file)
    X, y, writers = [], [], []
    for c in conversations.of_split(conversations.load(), "dev"):
        turns = replay[c.id]
        for index, turn in enumerate(turns):
            if turn.handed_over:
                break
            before: Sequence[str] = turns[index - 1].replies if index else ()
            offered = any(offers_a_person(reply) for reply in before)
            X.append([*vector(handoff_features([t.view for t in turns[: index + 1]])), float(offered)])
            y.append(int(c.turns[index].handoff))
            writers.append(trainer.writer_of(c.id))
    return np.array(X, dtype=float), np.array(y), np.array(writers)


def after_offer(replay_file: Path) -> dict[str, Counts]:
    X, y, writers = _replay_rows(replay_file)
    print(f"{len(y)} replayed policy rows, {int(y.sum())} hand-offs, {int(X[:, -1].sum())} after an offer")
    return held_out({"policy": X[:, : len(FEATURES)], "+ after an offer": X}, y, writers)


def _threshold_by(rule: str, X: np.ndarray, y: np.ndarray, scores: np.ndarray) -> float:
    best, best_value = 0.5, -1.0
    for threshold in sorted(set(np.round(scores, 4)), reverse=True):
        tp, fp, fn = counts(y, trainer._decided(X, scores, threshold))
        precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        if rule.startswith("precision>="):
            value = recall + 1e-6 * precision if precision >= float(rule.split(">=")[1]) else -1.0
        else:
            beta2 = float(rule[1:]) ** 2
            value = (1 + beta2) * tp / max((1 + beta2) * tp + beta2 * fn + fp, 1)
        if value > best_value:
            best, best_value = float(threshold), value
    return best


def thresholds(parses_file: Path) -> dict[str, Counts]:
    """The same fit, the threshold chosen on the other writers' out-of-fold scores by each rule."""
    X, y, writers = _parse_rows(parses_file)
    pooled = {rule: (0, 0, 0) for rule in THRESHOLD_RULES}
    for held in sorted(set(writers)):
        test, train = writers == held, writers != held
        policy, oof = fitted_on(X[train], y[train], writers[train])
        row = []
        for rule in THRESHOLD_RULES:
            threshold = _threshold_by(rule, X[train], y[train], oof)
            c = counts(y[test], trainer._decided(X[test], trainer.scores(policy, X[test]), threshold))
            pooled[rule] = tuple(a + b for a, b in zip(pooled[rule], c, strict=True))  # type: ignore[assignment]
            row.append(f"{rule} at {threshold:.3f}: {figures(c)}")
        print(f"writer {held} held out: " + "; ".join(row), flush=True)
    return pooled


PROBES: dict[str, Callable[[Path], dict[str, Counts]]] = {
    "after-offer": after_offer,
    "thresholds": thresholds,
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("probe", choices=sorted(PROBES))
    parser.add_argument("source", type=Path, help="the dev parse file, or the dev replay for after-offer")
    args = parser.parse_args()
    for name, pooled in PROBES[args.probe](args.source).items():
        print(f"pooled, {name}: {figures(pooled)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
