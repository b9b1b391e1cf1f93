"""Study, DEV split only: does a sentence-embedding reading of the customer's words (all-MiniLM-L6-v2, which
the bot's NLU pipeline already computes per message) find the hand-offs the cue features miss on writers the
policy was not fitted on, without adding false ones? It chose `now+pair`, which ml/handoff.py now fits
(backend/handoff/text.py); it stays to compare the text variants against the cues alone.

    .venv-app/bin/python -m scripts.handoff_text_dev PARSES
    # PARSES: the newest ~/.cache/supportdesk/handoff/parses-*.json (`make model` writes it)

Reads: the dev sets of ml/data/conversations/ only (a file's own `split:` header line decides which files
are read at all: set C, the test set, is never loaded, parsed, embedded or scored) and the per-turn Rasa
parses of PARSES (made by ml/parse_turns.py during `make model`, each turn's embedding as the served parse
carries it; its entries for anything but dev ids are dropped as soon as the file is read). Labels are the
human ones in the data files.

Nested leave one writer out (each dev set is one writer's): for each held-out writer, everything is fitted on
the other writers only, as `ml.handoff writers` does.

- `cues`: `ml.handoff.fit_rows` on the cue features alone (features.py; the policy shipped before the text
  models: C by leave-one-writer-out log loss, threshold by out-of-fold F1), scored on the held-out writer.
- Stacked variants: the cue features plus the logit of one or more text models, each a logistic regression
  on embeddings predicting a label of the turn (ml/handoff_text.py). The text model's C is chosen by
  leave-one-writer-out log loss inside the training writers; the training rows get their text score out of
  fold by writer (a fit on the other training writers), the held-out writer's rows from a fit on all training
  writers; then `fit_rows` chooses the policy's C and threshold on the augmented training rows. (Second
  order, not nested: inside `fit_rows`' own leave-one-writer-out, a training row's text score came from a fit
  that saw the inner held-out writer.) The text models learn from the same rows the policy does (the
  dialogue's own hand-offs, a yes to the offer of a person and a confirmed cancellation, are left out as in
  ml/handoff.py).
  - `now`: hand-off label from the current message's embedding;
  - `now+pair` (shipped): `now` plus a second model on [current, previous customer message] (zeros on a first
    turn); its per-writer figures are checked to equal `ml.handoff writers`' exactly;
  - `H1`: "asks for a person" (rule H1 turns against every other row) from the current message;
  - `rules`: one model per rule family H1-H4 (that rule's turns against every other row), four features.

Printed per held-out writer and pooled: precision, recall, F1 at the procedure's own threshold (with the
explicit-request guardrail and the declined-person override of `LearntPolicy.decide`); per writer, of the
cue policy's misses how many the variant finds, how many false hand-offs it adds, and how many of the cue
policy's hand-offs it loses. Writer H is the blind check (nobody chose features on its words). Until
2026-12-07 the study embedded the texts itself with the torch model in full precision and timed that; the
served embedding is the NLU's, already computed, so it reads the parses' half-precision copies instead.

Decision rule, written before any result was read (2026-12-06): a variant is worth integrating only if its
pooled held-out F1 is higher than the cue-only procedure's pooled held-out F1 in this same harness, AND its
recall on writer H is higher than the cue-only procedure's on H, AND its precision on H is at least 0.85. If
several qualify, the one with the highest pooled F1 is named. A rise of a turn or two is within noise; the
counts are printed so the reader can see its size, but the rule is applied as written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.handoff.text import logits
from ml import conversations, handoff, handoff_text
from ml.conversations import LabelledConversation
from scripts.paths import VAR

CACHE_DIR = VAR / "eval"
TEXT_C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)
BLIND = "h"  # set ids are lower case
MIN_PRECISION_BLIND = 0.85
SHIPPED = "now+pair"  # what ml/handoff.py fits since the study chose it

Parses = dict[str, list[dict[str, Any]]]


# ---------------------------------------------------------------- data (dev only)


def declared_split(path: Path) -> str | None:
    """A set file's `split:` line, read from its header only (stops at `conversations:`)."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("conversations:"):
                return None
            if line.startswith("split:"):
                return line.split(":", 1)[1].strip()
    return None


def load_dev() -> list[LabelledConversation]:
    """The dev sets' conversations; a file not declared dev is never opened past its header."""
    files = [p for p in conversations.data_files() if declared_split(p) == "dev"]
    dev = conversations.load(files)
    if any(c.split != "dev" for c in dev):
        raise ValueError("a conversation of a dev file is not dev")
    return dev


def load_parses(path: Path, dev: Sequence[LabelledConversation]) -> Parses:
    """The dev conversations' parses; every other entry is dropped as soon as the file is read."""
    every = json.loads(path.read_text())["conversations"]
    return {c.id: every[c.id] for c in dev}


@dataclass(frozen=True)
class Rows:
    """The policy's rows (the order of `ml.handoff.rows`) with what the text models need."""

    X: np.ndarray
    y: np.ndarray
    writers: np.ndarray
    rules: np.ndarray  # the turn's rule id ("" for continue)
    now: np.ndarray  # embedding of the current message
    pair: np.ndarray  # [current, previous customer message] embeddings (zeros for no previous)


def build_rows(items: Sequence[LabelledConversation], parses: Parses) -> Rows:
    """The cue features (no text columns), and the embeddings as the parses carry them (ml/parse_turns.py)."""
    X, y, _ = handoff.rows(items, parses)
    keep = np.array(handoff._policy_rows(items, parses))
    rules = np.array([t.rule or "" for c in items for t in c.turns])[keep]
    now, pair = handoff.text_rows(items, parses)
    return Rows(X, y, handoff.writer_groups(items, parses), rules, now, pair)


# ---------------------------------------------------------------- text models


def text_feature(
    E: np.ndarray, y: np.ndarray, writers: np.ndarray, E_held: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The text model's logit for the training rows (out of fold by writer) and the held-out rows (a fit on
    all training rows), C chosen by the training writers' leave-one-writer-out log loss: ml/handoff_text.py,
    as the shipped policy fits its two."""
    fitted = handoff_text.fit_one(E, y, writers)
    return fitted.out_of_fold, logits(E_held, fitted.coef, fitted.intercept)


# A text model: which embedding of a row it reads ("now", "pair") and which label it predicts ("handoff" or
# a rule id: that rule's turns against every other row).
TextModel = tuple[str, str]

VARIANTS: dict[str, list[TextModel]] = {
    "now": [("now", "handoff")],
    "now+pair": [("now", "handoff"), ("pair", "handoff")],
    "H1": [("now", "H1")],
    "rules": [("now", rule) for rule in conversations.RULES],
}


def _read(r: Rows, embedding: str) -> np.ndarray:
    return r.now if embedding == "now" else r.pair


def _label(r: Rows, label: str) -> np.ndarray:
    return r.y if label == "handoff" else (r.rules == label).astype(int)


# ---------------------------------------------------------------- the procedure, nested


def _subset(r: Rows, mask: np.ndarray) -> Rows:
    return Rows(r.X[mask], r.y[mask], r.writers[mask], r.rules[mask], r.now[mask], r.pair[mask])


def augment(
    train: Rows, held: Rows, models: Sequence[TextModel], memo: dict[TextModel, tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """The shipped features plus each text model's logit, for the training and the held-out rows (`memo`: the
    text models already fitted for this held-out writer, which variants share)."""
    for model in models:
        if model not in memo:
            embedding, label = model
            oof, out = text_feature(
                _read(train, embedding), _label(train, label), train.writers, _read(held, embedding)
            )
            memo[model] = (oof, out)
    extra_train = [memo[m][0] for m in models]
    extra_held = [memo[m][1] for m in models]
    return np.column_stack([train.X, *extra_train]), np.column_stack([held.X, *extra_held])


def decide(X_train: np.ndarray, train: Rows, X_held: np.ndarray) -> np.ndarray:
    """`fit_rows` on the training rows (as `ml.handoff writers`), then its decisions on the held-out rows."""
    policy, _ = handoff.fit_rows(X_train, train.y, train.writers, "study", handoff.LeaveOneGroupOut())
    return handoff._decided(X_held, handoff.scores(policy, X_held), policy.threshold)


def held_out_decisions(everything: Rows, variant: str | None, memo: dict[str, dict]) -> dict[str, np.ndarray]:
    """Per dev writer: the decisions on its rows of the procedure fitted on the other writers."""
    out = {}
    for writer in sorted(set(everything.writers)):
        train = _subset(everything, everything.writers != writer)
        held = _subset(everything, everything.writers == writer)
        if variant is None:
            X_train, X_held = train.X, held.X
        else:
            X_train, X_held = augment(train, held, VARIANTS[variant], memo.setdefault(writer, {}))
        out[writer] = decide(X_train, train, X_held)
    return out


# ---------------------------------------------------------------- figures


def figures(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    tp = int((predicted & (y == 1)).sum())
    fp, fn = int(predicted.sum()) - tp, int(y.sum()) - tp
    return {
        "precision": tp / max(tp + fp, 1),
        "recall": tp / max(tp + fn, 1),
        "f1": 2 * tp / max(2 * tp + fp + fn, 1),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def check_harness(
    dev: Sequence[LabelledConversation], parses: Parses, everything: Rows, shipped: dict[str, np.ndarray]
) -> None:
    """The shipped variant here must give `ml.handoff writers`' per-writer figures exactly."""
    for row in handoff.writers(dev, parses):
        writer = row["held_out"]
        mine = figures(everything.y[everything.writers == writer], shipped[writer])
        for name in ("tp", "fp", "fn", "precision", "recall", "f1"):
            if round(float(mine[name]), 3) != row[f"learnt_{name}"]:
                raise SystemExit(f"harness differs from ml.handoff writers on {writer} {name}")
    print(f"harness check: `{SHIPPED}` here equals `ml.handoff writers` on every writer (TP/FP/FN)")


def compare(y: np.ndarray, base: np.ndarray, variant: np.ndarray) -> dict[str, int]:
    positive = y == 1
    return {
        "found": int((positive & ~base & variant).sum()),
        "new_false": int((~positive & ~base & variant).sum()),
        "lost": int((positive & base & ~variant).sum()),
    }


def table(everything: Rows, name: str, decisions: dict[str, np.ndarray], base: dict[str, np.ndarray]) -> dict:
    print(f"\n{name}")
    print(f"  {'writer':<7}{'P':>7}{'R':>7}{'F1':>7}{'TP':>5}{'FP':>5}{'FN':>5}  found  new-false  lost")
    result: dict[str, Any] = {}
    for writer, predicted in decisions.items():
        y = everything.y[everything.writers == writer]
        row = figures(y, predicted) | compare(y, base[writer], predicted)
        result[writer] = row
        _print_row(writer + (" (blind)" if writer == BLIND else ""), row)
    y_all = np.concatenate([everything.y[everything.writers == w] for w in decisions])
    pooled_pred = np.concatenate(list(decisions.values()))
    base_pred = np.concatenate([base[w] for w in decisions])
    result["pooled"] = figures(y_all, pooled_pred) | compare(y_all, base_pred, pooled_pred)
    _print_row("pooled", result["pooled"])
    return result


def _print_row(label: str, row: dict[str, Any]) -> None:
    print(f"  {label:<7}{row['precision']:>7.3f}{row['recall']:>7.3f}{row['f1']:>7.3f}"
          f"{row['tp']:>5}{row['fp']:>5}{row['fn']:>5}  {row['found']:>5}  {row['new_false']:>9}"
          f"  {row['lost']:>4}")  # fmt: skip


def verdict(results: dict[str, dict]) -> list[str]:
    """The decision rule of the docstring, applied."""
    base = results["cues"]
    lines = []
    for name, res in results.items():
        if name == "cues":
            continue
        checks = {
            "pooled F1 up": res["pooled"]["f1"] > base["pooled"]["f1"],
            "H recall up": res[BLIND]["recall"] > base[BLIND]["recall"],
            f"H precision >= {MIN_PRECISION_BLIND}": res[BLIND]["precision"] >= MIN_PRECISION_BLIND,
        }
        passed = "QUALIFIES" if all(checks.values()) else "does not qualify"
        lines.append(f"{name}: {passed} (" + ", ".join(f"{k}: {v}" for k, v in checks.items()) + ")")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("parses", type=Path, help="a parses-*.json of ml/parse_turns.py (make model)")
    args = parser.parse_args()
    dev = load_dev()
    parses = load_parses(args.parses, dev)
    everything = build_rows(dev, parses)
    names = ", ".join(sorted(set(everything.writers)))
    print(f"dev: {len(dev)} conversations, {len(everything.y)} policy rows, "
          f"{int(everything.y.sum())} hand-offs, writers {names}")  # fmt: skip
    memo: dict[str, dict] = {}
    cues = held_out_decisions(everything, None, memo)
    results = {"cues": table(everything, "cues only (no text model)", cues, cues)}
    for name in VARIANTS:
        decisions = held_out_decisions(everything, name, memo)
        if name == SHIPPED:
            check_harness(dev, parses, everything, decisions)
        results[name] = table(everything, f"cues + text `{name}`", decisions, cues)
    print("\ndecision rule:")
    for line in verdict(results):
        print("  " + line)
    out = CACHE_DIR / "handoff_text_dev.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
