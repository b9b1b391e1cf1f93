"""Train the learnt hand-off policy on the dev conversations, and the cached build step that ships it.

    python -m ml.handoff build       # make model runs it: parse with the current Rasa model, fit, link
                                     # (a policy promoted from the decision log since stays linked)
    python -m ml.handoff fit PARSES  # fit on a parse file (ml/parse_turns.py) and print the dev figures
    python -m ml.handoff writers PARSES  # leave one writer's dev set out: fit on the others, score it

Rows are the labelled customer turns of the **dev** split (docs/labelling.md §4); the test split is never read
here. Features are what the product sees per turn (backend/handoff/features.py) from the Rasa model's parse
of each turn, FallbackClassifier included, and the logits of two text models on the parse's sentence
embedding (backend/handoff/text.py; fitted first, by ml/handoff_text.py, each row's logit out of fold by
writer, and shipped inside the policy file). Choices made by leave-one-writer-out cross-validation on dev
(each dev set is one writer's; fit on the others, score it): the regularisation C (pooled held-out log loss),
then the threshold (the middle of the band whose pooled held-out F1 is within one standard error of the best:
ml/handoff_threshold.py). The test set is a writer none of the dev sets share, so a choice read on a
held-out writer's turns is read in the condition it will meet; within-writer folds put a writer's style on
both sides and scored kinder. The final fit is on all dev rows. The labels come from the written rules, never
from these features.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import BaseCrossValidator, GroupKFold, LeaveOneGroupOut

from backend.handoff.features import FEATURES, TurnView, handoff_features, vector
from backend.handoff.policy import LearntPolicy, RulesPolicy, declined
from backend.handoff.text import pair_input, vector_of
from contract.embedding import as_bytes
from ml import conversations, handoff_text, handoff_threshold
from ml.conversations import LabelledConversation
from scripts.paths import BOT_BIN, CACHE, CURRENT_MODEL, ROOT, VAR, content_hash

Parses = dict[str, list[dict[str, Any]]]
CURRENT_POLICY = VAR / "models" / "handoff-policy.json"
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
FOLDS = 5
SEED = 7


def turn_views(conversation: LabelledConversation, parses: list[dict[str, Any]]) -> list[TurnView]:
    """Each customer turn as the product sees it: the model's parse and the text the customer wrote."""
    return [
        TurnView(
            p["intent"], p["sentiment_label"], p["sentiment_score"], turn.text, as_bytes(p.get("embedding"))
        )
        for p, turn in zip(parses, conversation.turns, strict=True)
    ]


def views_per_row(items: Sequence[LabelledConversation], parses: Parses) -> list[list[TurnView]]:
    """One entry per labelled turn: the conversation's parsed turns up to and including it."""
    views = [turn_views(c, parses[c.id]) for c in items]
    return [v[: t + 1] for c, v in zip(items, views, strict=True) for t in range(len(c.turns))]


# Hand-offs the bot's own dialogue takes (bot/data/rules.yml): a yes to its offer of a person (H1) and a no to
# its retention offer (H4 b). They follow the bot's question, which the policy does not see, so as training
# rows they would only teach it that a plain "yes" or "no" means a person. A cancellation asked for again
# (H4 b) is the policy's: the bot answers the first request itself, so `cancel_again` tells the two apart.
DIALOGUE_HANDOFFS = {("H1", "affirm"), ("H4", "deny")}


def _policy_rows(items: Sequence[LabelledConversation], parses: Parses) -> list[bool]:
    """Per labelled turn: whether it is the policy's to learn (not a hand-off the dialogue takes itself)."""
    return [
        (turn.rule, parses[c.id][index]["intent"]) not in DIALOGUE_HANDOFFS
        for c in items
        for index, turn in enumerate(c.turns)
    ]


def rows(items: Sequence[LabelledConversation], parses: Parses) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row per labelled turn the policy decides: the conversation's features up to it, its label, its
    conversation."""
    keep = np.array(_policy_rows(items, parses))
    X = np.array([vector(handoff_features(views)) for views in views_per_row(items, parses)], dtype=float)
    y = np.array([int(turn.handoff) for c in items for turn in c.turns], dtype=int)
    groups = np.array([index for index, c in enumerate(items) for _ in c.turns])
    return X[keep], y[keep], groups[keep]


def text_rows(items: Sequence[LabelledConversation], parses: Parses) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `rows(items, parses)`: the message's embedding (`now`) and it beside the previous customer
    message's (`pair`, zeros on a first turn), as the parse carried them (backend/handoff/text.py)."""
    keep = np.array(_policy_rows(items, parses))
    now, pair = [], []
    for c in items:
        vectors = []
        for index, p in enumerate(parses[c.id]):
            raw = as_bytes(p.get("embedding"))
            if raw is None:
                raise ValueError(f"{c.id} turn {index}: no embedding in its parse (retrain the Rasa model)")
            vectors.append(vector_of(raw))
        for index, current in enumerate(vectors):
            now.append(current)
            pair.append(pair_input(current, vectors[index - 1] if index else None))
    return np.array(now)[keep], np.array(pair)[keep]


def writer_of(conversation_id: str) -> str:
    """Each dev set is one writer's (docs/labelling.md §4), and an id starts with its set's letter."""
    return conversation_id[0]


def writer_groups(items: Sequence[LabelledConversation], parses: Parses) -> np.ndarray:
    """Per row of `rows(items, parses)`: its conversation's writer (the folds the choices are made on)."""
    keep = np.array(_policy_rows(items, parses))
    return np.array([writer_of(c.id) for c in items for _ in c.turns])[keep]


def _f1(y: np.ndarray, predicted: np.ndarray) -> float:
    tp = int((predicted & (y == 1)).sum())
    return 2 * tp / (predicted.sum() + y.sum()) if tp else 0.0


def _precision_recall(y: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    tp = int((predicted & (y == 1)).sum())
    return (tp / predicted.sum() if predicted.sum() else 0.0), (tp / y.sum() if y.sum() else 0.0)


def _standardize(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


def _out_of_fold(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray, c: float, folds: BaseCrossValidator | None = None
) -> np.ndarray:
    """Each row's score from a fit without its group (`folds`; grouped 5-fold unless given)."""
    oof = np.zeros(len(y))
    for train, held in (folds or GroupKFold(n_splits=FOLDS)).split(X, y, groups):
        mean, scale = _standardize(X[train])
        model = LogisticRegression(C=c, max_iter=2000).fit((X[train] - mean) / scale, y[train])
        oof[held] = model.predict_proba((X[held] - mean) / scale)[:, 1]
    return oof


def _decided(X: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """What LearntPolicy.decide does at this threshold: the explicit-request guardrail hands over, a declined
    person is respected, the score decides the rest. Read on the policy's own columns: a study's rows carry
    more after them (scripts/handoff_text_dev.py, ml/handoff_probes.py)."""
    always, eligible = _guardrail_masks(X)
    return always | (eligible & (scores >= threshold))


def scores(policy: LearntPolicy, X: np.ndarray) -> np.ndarray:
    """LearntPolicy.probability for every row of X at once, on the columns the policy was fitted on (a
    study's policy is fitted on its extra columns too)."""
    z = policy.intercept + ((X - np.array(policy.mean)) / np.array(policy.scale)) @ np.array(policy.coef)
    return 1.0 / (1.0 + np.exp(-z))


def _guardrail_masks(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_decided`'s parts, which the threshold rule reads too: the rows the explicit-request guardrail hands
    over at any threshold, and the rows the score decides (a declined person is never handed over)."""
    own = X[:, : len(FEATURES)]
    explicit = own[:, FEATURES.index("explicit_request")] > 0
    refused = np.asarray(declined(dict(zip(FEATURES, own.T, strict=True))), dtype=bool)
    return explicit, ~explicit & ~refused


@dataclass(frozen=True)
class Choice:
    """What `fit_rows` chose on out-of-fold predictions, and those predictions at the chosen C."""

    c: float
    log_loss: float
    threshold: float
    f1: float  # out of fold, at the threshold
    scores: np.ndarray


def fit_rows(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray, version: str, folds: BaseCrossValidator | None = None
) -> tuple[LearntPolicy, Choice]:
    """C by out-of-fold log loss, then the threshold on out-of-fold F1 (ml/handoff_threshold.py), then the
    fit on all rows. The folds hold out whole `groups` (`folds`: grouped 5-fold unless given; dev passes its
    writers, one out at a time); the threshold's standard error resamples them too."""
    scores = {c: _out_of_fold(X, y, groups, c, folds) for c in C_GRID}
    losses = {c: log_loss(y, np.clip(s, 1e-6, 1 - 1e-6)) for c, s in scores.items()}
    c = min(losses, key=losses.__getitem__)
    rows = handoff_threshold.Rows(y, scores[c], *_guardrail_masks(X))
    threshold, oof_f1 = handoff_threshold.band_middle(rows, groups)
    mean, scale = _standardize(X)
    model = LogisticRegression(C=c, max_iter=2000).fit((X - mean) / scale, y)
    policy = LearntPolicy(
        version=version,
        mean=tuple(mean.tolist()),
        scale=tuple(scale.tolist()),
        coef=tuple(model.coef_[0].tolist()),
        intercept=float(model.intercept_[0]),
        threshold=threshold,
    )
    return policy, Choice(c, losses[c], threshold, oof_f1, scores[c])


def has_embeddings(items: Sequence[LabelledConversation], parses: Parses) -> bool:
    return all(as_bytes(p.get("embedding")) is not None for c in items for p in parses[c.id])


def fit_procedure(
    items: Sequence[LabelledConversation], parses: Parses, version: str
) -> tuple[LearntPolicy, Choice, dict[str, float] | None, np.ndarray]:
    """The whole procedure on `items`' writers: the text models (ml/handoff_text.py), then `fit_rows` on the
    features with the text models' out-of-fold logits, leave-one-writer-out. Returns the policy (text models
    inside), what was chosen (the text models' Cs apart), and the rows it chose on (the text columns out of
    fold). Parses without
    embeddings (a Rasa model without nlu/embedding_in_parse.py; tests' stand-in parses) fit the cue
    features alone; `build` refuses them."""
    X, y, _ = rows(items, parses)
    writers_of_rows = writer_groups(items, parses)
    if not has_embeddings(items, parses):
        policy, choice = fit_rows(X, y, writers_of_rows, version, LeaveOneGroupOut())
        return policy, choice, None, X
    now, pair = text_rows(items, parses)
    models, text_columns, cs = handoff_text.fit_text_models(now, pair, y, writers_of_rows)
    X_text = np.column_stack([X, text_columns])
    policy, choice = fit_rows(X_text, y, writers_of_rows, version, LeaveOneGroupOut())
    return replace(policy, text=models), choice, cs, X_text


def fit(
    dev: Sequence[LabelledConversation], parses: Parses, version: str
) -> tuple[LearntPolicy, dict[str, Any]]:
    if any(c.split != "dev" for c in dev):
        raise ValueError("the hand-off policy is fitted on the dev split only")
    _, y, _ = rows(dev, parses)
    if y.sum() < FOLDS:
        raise ValueError(f"too few hand-off labels on dev to fit ({int(y.sum())})")
    writers_of_rows = writer_groups(dev, parses)
    if len(set(writers_of_rows)) < 2:
        raise ValueError("the hand-off policy's choices need at least two dev writers to hold one out")
    policy, choice, text_cs, X = fit_procedure(dev, parses, version)
    # The held-out scores the threshold was chosen on, split into the two figures the targets name.
    oof_precision, oof_recall = _precision_recall(y, _decided(X, choice.scores, choice.threshold))
    keep = np.array(_policy_rows(dev, parses))
    rules = np.array([RulesPolicy().decide(v).handoff for v in views_per_row(dev, parses)])[keep]
    report = {
        "trained_on": {"split": "dev", "conversations": len(dev), "turns": len(y), "handoffs": int(y.sum())},
        # What the shipped policy is chosen by: both on the same dev rows, the learnt one out of fold.
        "rules_f1_on_dev": round(_f1(y, rules), 4),
        "chosen_on_dev": {
            "folds": "leave-one-writer-out: " + ", ".join(sorted(set(writers_of_rows))),
            "C": choice.c,
            "cv_log_loss": round(choice.log_loss, 4),
            "threshold": choice.threshold,
            "cv_f1_at_threshold": round(choice.f1, 4),
            "cv_precision_at_threshold": round(oof_precision, 4),
            "cv_recall_at_threshold": round(oof_recall, 4),
            "text_models_C": text_cs,
        },
    }
    return policy, report


def parse_turns(model: Path, out: Path, *extra: str) -> dict[str, Any]:
    """The turns as the Rasa model parses them (ml/parse_turns.py in the bot venv)."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bot'}",
        "SUPPORTDESK_ENCODER_THREADS": "0",
    }
    command = [
        str(BOT_BIN / "python"),
        "-m",
        "ml.parse_turns",
        "--model",
        str(model),
        "--out",
        str(out),
        *extra,
    ]
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    return json.loads(out.read_text())


def fitted_from() -> list[Path]:
    """The files the dev policy is fitted from: labelled data, this trainer, its text models and threshold
    rule, the features."""
    return [
        *conversations.data_files(),
        ROOT / "ml" / "handoff.py",
        ROOT / "ml" / "handoff_text.py",
        ROOT / "ml" / "handoff_threshold.py",
        ROOT / "backend" / "handoff",
    ]


def dev_key() -> str | None:
    """The hash of `fitted_from` and the Rasa model's name; None without labelled data or a Rasa model."""
    if not conversations.data_files() or not CURRENT_MODEL.exists():
        return None
    return content_hash(fitted_from(), extra=CURRENT_MODEL.resolve().name)


def promoted_to_keep(key: str, served: Path) -> Path | None:
    """The promoted policy `served` points at, if it was promoted with the dev inputs of `key`.

    A policy promoted from the decision log (ml/handoff_promotion.py) beat the one it replaced on held-out
    logged labels, so `make model` must not put the unmeasured dev policy back over it. Only when the dev
    inputs changed after the latest promotion does the dev fit serve again (a promotion made before any Rasa
    model existed recorded no key, so the first dev fit counts as such a change).
    """
    try:
        body = json.loads(served.read_text())
    except (OSError, ValueError):
        return None
    promotion = body.get("promotion") if isinstance(body, dict) else None
    if not isinstance(promotion, dict) or promotion.get("dev_key") != key:
        return None
    return served.resolve()


def link(target: Path, served: Path) -> None:
    """Point the served path at `target` atomically (a reader never finds it missing)."""
    served.parent.mkdir(parents=True, exist_ok=True)
    fresh = served.with_name(served.name + ".new")
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(target)
    fresh.replace(served)


def build() -> Path | None:
    """Fit the policy for the current Rasa model and labelled data unless it is cached; link it in var/,
    unless a policy promoted from the decision log with these same dev inputs serves (it stays)."""
    key = dev_key()
    if key is None:
        print("handoff: no labelled conversations or Rasa model: no learnt policy (the rules decide)")
        return None
    kept = promoted_to_keep(key, CURRENT_POLICY)
    if kept is not None:
        print(f"handoff: keeping the promoted policy {kept.name} (the dev inputs have not changed since)")
        return kept
    model = CURRENT_MODEL.resolve()
    target = CACHE / "handoff" / f"policy-{key}.json"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        parses = parse_turns(model, CACHE / "handoff" / f"parses-{key}.json")["conversations"]
        dev = conversations.of_split(conversations.load(), "dev")
        if not has_embeddings(dev, parses):
            raise SystemExit(f"handoff: {model.name} puts no embedding in its parses (bot/config.yml needs "
                             "nlu.embedding_in_parse.EmbeddingInParse); the policy's text models read it")
        policy, report = fit(dev, parses, version=key)
        target.write_text(json.dumps(policy.to_json(report | {"rasa_model": model.name}), indent=1))
        print(f"handoff: fitted {target.name}: {json.dumps(report)}")
    link(target, CURRENT_POLICY)
    return target


def _decided_scores(
    policy: LearntPolicy | RulesPolicy, items: Sequence[LabelledConversation], parses: Parses
) -> dict[str, float]:
    """Precision, recall and F1 of `policy.decide()` on the turns that are the policy's to decide (every
    labelled turn, not only up to a first hand-off: the same rows the fit and its out-of-fold F1 use)."""
    keep = _policy_rows(items, parses)
    views = [v for v, k in zip(views_per_row(items, parses), keep, strict=True) if k]
    y = np.array([int(t.handoff) for c in items for t in c.turns])[np.array(keep)]
    predicted = np.array([policy.decide(v).handoff for v in views], dtype=bool)
    precision, recall = _precision_recall(y, predicted)
    tp = int((predicted & (y == 1)).sum())
    counts = {"tp": tp, "fp": int(predicted.sum()) - tp, "fn": int(y.sum()) - tp}
    return {"precision": precision, "recall": recall, "f1": _f1(y, predicted)} | counts


def _pooled(table: list[dict[str, Any]]) -> str:
    """The held-out writers' turns as one set: what a policy chosen this way gets on a new writer's."""
    tp, fp, fn = (int(sum(row[f"learnt_{name}"] for row in table)) for name in ("tp", "fp", "fn"))
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    return f"pooled: precision {precision:.3f}, recall {recall:.3f}, F1 {f1:.3f} (TP {tp}, FP {fp}, FN {fn})"


def fitted_without(dev: Sequence[LabelledConversation], parses: Parses, held: str) -> LearntPolicy:
    """The policy the whole procedure (C and threshold included) fits on every dev writer but `held`."""
    train = [c for c in dev if writer_of(c.id) != held]
    return fit_procedure(train, parses, f"without {held}")[0]


def writers(dev: Sequence[LabelledConversation], parses: Parses) -> list[dict[str, Any]]:
    """Each dev set (one writer each: the id's letter) scored by the policy fitted on the others. Within one
    writer, out-of-fold F1 overstates what customers who write differently get; this is the check. The fit
    makes its choices as `fit` does, on the other writers alone (each of them held out in turn), so the
    held-out writer is scored by the whole procedure, blind to it."""
    sets = sorted({writer_of(c.id) for c in dev})
    rows_out = []
    for held in sets:
        scored = [c for c in dev if writer_of(c.id) == held]
        learnt = _decided_scores(fitted_without(dev, parses, held), scored, parses)
        rules = _decided_scores(RulesPolicy(), scored, parses)
        rows_out.append(
            {"held_out": held}
            | {f"learnt_{name}": round(float(value), 3) for name, value in learnt.items()}
            | {f"rules_{name}": round(float(value), 3) for name, value in rules.items()}
        )
    return rows_out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build")
    for name in ("fit", "writers"):
        sub.add_parser(name).add_argument("parses", type=Path)
    args = parser.parse_args()
    if args.command == "build":
        print(build() or "")
        return 0
    dev = conversations.of_split(conversations.load(), "dev")
    if args.command == "writers":
        table = writers(dev, json.loads(args.parses.read_text())["conversations"])
        for row in table:
            print(f"fitted without set {row['held_out']}, scored on it: learnt F1 {row['learnt_f1']:.3f} "
                  f"(precision {row['learnt_precision']:.3f}, recall {row['learnt_recall']:.3f}), "
                  f"rules F1 {row['rules_f1']:.3f}")  # fmt: skip
        print(f"mean learnt F1 {np.mean([r['learnt_f1'] for r in table]):.3f}; {_pooled(table)}")
        return 0
    policy, report = fit(dev, json.loads(args.parses.read_text())["conversations"], version="adhoc")
    print(json.dumps(policy.to_json(report), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
