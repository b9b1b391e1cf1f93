"""Out-of-scope detection on Banking77's held-out-classes protocol (`make eval-oos`, tracker issue 21).

Protocol (every number below is fixed here and printed into the result):
- **Classes.** The 77 intents, sorted by name, are shuffled with numpy's default_rng(CLASS_SEED); the first 60
  are in scope, the other 17 are out of scope at test time. Rows of those 17 are removed from training and dev
  and only scored at the very end.
- **Dev** (every choice: the method's k, the rejection rate, the method itself), from the 60 in-scope classes'
  train rows only: the 60 are dealt into DEV_FOLDS groups of 15 (seeded); in fold g the group's classes play
  out of scope (all their train rows) and the other 45 are in scope: their rows are split 80/20 (stratified,
  seeded) into fit / dev-in, the classifier and the scorers are fitted on fit, and dev-in is halved into a
  calibration half (sets the threshold from the rejection rate) and an evaluation half (in-scope accuracy).
  Criterion: in-scope accuracy + out-of-scope recall (an in-scope message rejected counts as wrong), averaged
  over the folds; per method the rejection rate maximizing it is chosen ("balanced"), or the best rate whose
  dev in-scope accuracy stays within BOT_MAX_ACCURACY_COST of the closed-set accuracy ("bot rule"); the method
  with the highest criterion wins.
- **Test.** The classifier and scorers are fitted on all train rows of the 60 classes; the threshold is the
  chosen quantile of 5-fold cross-fitted in-scope scores of those rows (as the bot does, nlu/oos.py), and the
  test split's 60-class rows (in scope) and 17-class rows (out of scope) are scored once, at both choices and
  at a fixed 5 % rejection rate (chosen by nobody, for comparing the scores at one in-scope cost).

Metrics: in-scope accuracy (correct intent and not rejected, over in-scope test rows), closed-set accuracy
(ignoring rejection), out-of-scope recall (rejected, over out-of-scope rows), AUROC of the score separating
the two; and the open-intent literature's figures (rejected and unseen rows as one "open" class: accuracy
over all rows, macro-F1, open-class F1, known-class macro-F1), to set beside Zhang et al.'s published table.
The classifier is the bot's (logistic regression, C=30, over the unit MiniLM embedding); embeddings
come from the pipeline's ONNX encoder ($SUPPORTDESK_ENCODER_DIR), cached under $SUPPORTDESK_CACHE.

**The bot's own data** (bot/data/nlu, the setting in bot/config.yml): the same dev procedure over its intents
(its own `out_of_scope` intent always in scope, and a message predicted as it counts as handled out of scope,
as the component never rejects it), the bot rule picks method and rate, then `bot_cv_check` replays the 5-fold
NLU cross-validation with and without the rejection (the bar: macro-F1 >= 0.90). There is no test split of
out-of-scope shop messages; the bot's figures are dev and cross-validation figures.
Writes var/eval/oos.json.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlu import oos  # noqa: E402
from nlu.settings import bot_settings  # noqa: E402
from scripts.paths import CACHE, SHARED_DATA, VAR  # noqa: E402

CLASS_SEED = 21  # the tracker issue's number: a seed fixed before any result was seen
IN_SCOPE_CLASSES = 60
DEV_FOLDS = 4
DEV_SEED = 1
CALIBRATION_FOLDS = 5
C = 30.0  # nlu/intent_classifier.py's default
REJECT_RATES = np.round(np.arange(0.0, 0.401, 0.005), 3)
# (name, method, k): the candidates compared on dev.
CANDIDATES: list[tuple[str, str, int]] = [
    ("msp", "msp", 0),
    ("energy", "energy", 0),
    ("centroid", "centroid", 0),
    ("knn-1", "knn", 1),
    ("knn-5", "knn", 5),
    ("knn-10", "knn", 10),
    ("knn-25", "knn", 25),
    ("mahalanobis", "mahalanobis", 0),
]
# The bot's rule: the rejection may cost at most this much dev in-scope accuracy (its NLU cross-validation
# macro-F1, 0.95, must stay >= 0.90, and a rejected in-scope turn costs the customer a "did you mean?").
BOT_MAX_ACCURACY_COST = 0.02
BOT_OUT_OF_SCOPE_INTENT = "out_of_scope"
# What ships today: FallbackClassifier's threshold on the classifier's probability (bot/config.yml).
SHIPPED_MSP_THRESHOLD = 0.5
SHIPPED_AMBIGUITY = 0.1
VARIANTS = ("alone", "fallback")
OPEN_CLASS = "<open>"


def read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], np.array([r["category"] for r in rows])


def embed(texts: list[str], name: str) -> np.ndarray:
    """The pipeline encoder's vectors, cached by encoder identity and the texts."""
    from nlu.sentence_encoder import SentenceEncoder, identity

    directory = bot_settings().encoder_dir
    if directory is None:
        raise SystemExit("eval_oos: set SUPPORTDESK_ENCODER_DIR (make eval-oos does)")
    key = hashlib.sha256("\n".join([identity(directory), *texts]).encode()).hexdigest()[:24]
    cached = CACHE / "oos-embeddings" / f"{key}.npy"
    if cached.is_file():
        return np.load(cached)
    started = time.monotonic()
    vectors = SentenceEncoder.from_dir(directory).encode(texts)
    print(f"eval_oos: encoded {len(texts)} {name} texts in {time.monotonic() - started:.0f} s", flush=True)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(partial, vectors)
    partial.replace(cached)
    return vectors


def fit_classifier(x: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=1000, random_state=42).fit(oos.unit(x), y)


def choose_classes(labels: np.ndarray) -> tuple[list[str], list[str]]:
    classes = sorted(set(labels.tolist()))
    order = np.random.default_rng(CLASS_SEED).permutation(len(classes))
    shuffled = [classes[i] for i in order]
    return sorted(shuffled[:IN_SCOPE_CLASSES]), sorted(shuffled[IN_SCOPE_CLASSES:])


def fallback_rule(logits: np.ndarray) -> np.ndarray:
    """Where bot/config.yml's FallbackClassifier says nlu_fallback: top probability < 0.5 or the top two
    within 0.1."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    top2 = np.sort(p, axis=1)[:, -2:]
    return (top2[:, 1] < SHIPPED_MSP_THRESHOLD) | (top2[:, 1] - top2[:, 0] < SHIPPED_AMBIGUITY)


def auroc(in_scores: np.ndarray, out_scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    truth = np.r_[np.zeros(len(in_scores)), np.ones(len(out_scores))]
    return float(roc_auc_score(truth, -np.r_[in_scores, out_scores]))  # out of scope = positive


def all_scores(
    x_fit: np.ndarray, y_fit: np.ndarray, x_query: np.ndarray, logits: np.ndarray
) -> dict[str, np.ndarray]:
    return {
        name: oos.score(oos.fit(x_fit, y_fit, method, k), x_query, logits) for name, method, k in CANDIDATES
    }


def dev_stage(
    x: np.ndarray, y: np.ndarray, candidates_classes: list[str], exempt: str | None = None
) -> dict[str, Any]:
    """Per method, per dev fold and rejection rate: in-scope accuracy and out-of-scope recall (see the module
    docstring). `exempt`: an intent whose prediction already counts as out of scope and is never rejected
    (the bot's own out_of_scope intent); it is never held out either."""
    rng = np.random.default_rng(DEV_SEED)
    groups = np.array_split(rng.permutation([c for c in candidates_classes if c != exempt]), DEV_FOLDS)
    shape = (DEV_FOLDS, len(REJECT_RATES))
    # Variant "alone": the score is the only rejection; "fallback": on top of today's FallbackClassifier.
    accuracy = {v: {name: np.zeros(shape) for name, _, _ in CANDIDATES} for v in VARIANTS}
    recall = {v: {name: np.zeros(shape) for name, _, _ in CANDIDATES} for v in VARIANTS}
    aurocs: dict[str, list[float]] = {name: [] for name, _, _ in CANDIDATES}
    closed: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for g, group in enumerate(groups):
        outside = np.isin(y, group)
        known = np.flatnonzero(~outside)
        split = oos.stratified_folds(y[known], 5, DEV_SEED + g)
        fit_rows, dev_rows = known[split != 0], known[split == 0]
        half = oos.stratified_folds(y[dev_rows], 2, DEV_SEED + g)
        calib_rows, eval_rows = dev_rows[half == 0], dev_rows[half == 1]
        started = time.monotonic()
        clf = fit_classifier(x[fit_rows], y[fit_rows])
        query = np.r_[calib_rows, eval_rows, np.flatnonzero(outside)]
        logits = clf.decision_function(oos.unit(x[query]))
        predicted = clf.classes_[logits.argmax(axis=1)]
        n_calib, n_eval = len(calib_rows), len(eval_rows)
        correct = predicted[n_calib : n_calib + n_eval] == y[eval_rows]
        kept_in = predicted[n_calib : n_calib + n_eval] == exempt
        out_named = predicted[n_calib + n_eval :] == exempt
        falls_back = fallback_rule(logits)
        base = {"alone": np.zeros(len(query), dtype=bool), "fallback": falls_back}
        for variant in VARIANTS:
            closed[variant].append(float((correct & ~base[variant][n_calib : n_calib + n_eval]).mean()))
        for name, scores in all_scores(x[fit_rows], y[fit_rows], x[query], logits).items():
            calib, evaluated = scores[:n_calib], scores[n_calib : n_calib + n_eval]
            outs = scores[n_calib + n_eval :]
            aurocs[name].append(auroc(np.r_[calib, evaluated], outs))
            for r, rate in enumerate(REJECT_RATES):
                threshold = oos.threshold_for(calib, rate)
                for variant in VARIANTS:
                    in_base = base[variant][n_calib : n_calib + n_eval]
                    out_base = base[variant][n_calib + n_eval :]
                    # The fallback catches the bot's own intent too; the score's rejection never does.
                    accepted = ~in_base & ((evaluated >= threshold) | kept_in)
                    accuracy[variant][name][g, r] = float((correct & accepted).mean())
                    handled = out_base | (outs < threshold) | out_named
                    recall[variant][name][g, r] = float(handled.mean())
        print(
            f"eval_oos: dev fold {g + 1}/{DEV_FOLDS}: {len(fit_rows)} fit, {n_calib}+{n_eval} dev in scope, "
            f"{int(outside.sum())} dev out of scope ({len(group)} classes); closed-set accuracy "
            f"{closed['alone'][-1]:.3f}; {time.monotonic() - started:.0f} s",
            flush=True,
        )
    return {
        "groups": [sorted(g.tolist()) for g in groups],
        "closed": {v: np.array(c) for v, c in closed.items()},
        "accuracy": accuracy,
        "recall": recall,
        "auroc": aurocs,
    }


def choose(dev: dict[str, Any], max_accuracy_cost: float | None, variant: str) -> dict[str, Any]:
    """Per method, the rejection rate maximizing mean dev (in-scope accuracy + out-of-scope recall); with
    `max_accuracy_cost`, only among rates whose mean dev in-scope accuracy stays within that much of the
    accuracy without it (what the bot can afford). `variant`: "alone" or on top of "fallback" (today's
    FallbackClassifier). The method with the best criterion wins."""
    table = {}
    floor = dev["closed"][variant].mean() - max_accuracy_cost if max_accuracy_cost is not None else -np.inf
    for name, _, _ in CANDIDATES:
        accuracy = dev["accuracy"][variant][name].mean(axis=0)
        recall = dev["recall"][variant][name].mean(axis=0)
        criterion = np.where(accuracy >= floor, accuracy + recall, -np.inf)
        best = int(criterion.argmax())
        table[name] = {
            "reject_rate": float(REJECT_RATES[best]),
            "criterion": round(float(accuracy[best] + recall[best]), 4),
            "in_scope_accuracy": round(float(accuracy[best]), 4),
            "oos_recall": round(float(recall[best]), 4),
            "auroc": round(float(np.mean(dev["auroc"][name])), 4),
        }
    return {
        "max_accuracy_cost": max_accuracy_cost,
        "variant": variant,
        "accuracy_without_rejection": round(float(dev["closed"][variant].mean()), 4),
        "candidates": table,
        "chosen": max(table, key=lambda n: table[n]["criterion"]),
    }


def held_out_scores(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Cross-fitted in-scope scores of the training rows for every candidate (as nlu/oos.py's
    `cross_fitted_scores`, sharing one classifier per fold between the logit methods)."""
    fold_of = oos.stratified_folds(y, CALIBRATION_FOLDS, DEV_SEED)
    held_out = {name: np.full(len(y), np.nan) for name, _, _ in CANDIDATES}
    for fold in range(CALIBRATION_FOLDS):
        held, kept = fold_of == fold, fold_of != fold
        logits = fit_classifier(x[kept], y[kept]).decision_function(oos.unit(x[held]))
        for name, scores in all_scores(x[kept], y[kept], x[held], logits).items():
            held_out[name][held] = scores
    return held_out


def open_set_scores(
    predicted: np.ndarray, accepted: np.ndarray, y_test: np.ndarray, inside: np.ndarray
) -> dict[str, float]:
    """The open intent classification literature's figures (Zhang et al. 2021, ADB): rejected rows and the
    unseen classes' rows become one extra "open" class; accuracy over all test rows, macro-F1 over the known
    classes plus open, and the open and known parts apart, so ours sit beside its published BANKING table."""
    from sklearn.metrics import f1_score

    truth = np.where(inside, y_test, OPEN_CLASS)
    guess = np.where(accepted, predicted, OPEN_CLASS)
    known = sorted(set(y_test[inside]))
    per_class = f1_score(truth, guess, labels=[*known, OPEN_CLASS], average=None, zero_division=0)
    return {
        "open_set_accuracy": round(float((truth == guess).mean()), 4),
        "open_set_macro_f1": round(float(per_class.mean()), 4),
        "open_f1": round(float(per_class[-1]), 4),
        "known_macro_f1": round(float(per_class[:-1].mean()), 4),
    }


def test_stage(
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    in_scope: list[str],
    choices: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    started = time.monotonic()
    held_out = held_out_scores(x, y)
    clf = fit_classifier(x, y)
    logits = clf.decision_function(oos.unit(x_test))
    predicted = clf.classes_[logits.argmax(axis=1)]
    inside = np.isin(y_test, in_scope)
    correct = (predicted == y_test) & inside

    def point(accepted: np.ndarray) -> dict[str, float]:
        return {
            "in_scope_accuracy": round(float((correct & accepted)[inside].mean()), 4),
            "in_scope_rejected": round(float((~accepted)[inside].mean()), 4),
            "oos_recall": round(float((~accepted)[~inside].mean()), 4),
            **open_set_scores(predicted, accepted, y_test, inside),
        }

    falls_back = fallback_rule(logits)
    rows: dict[str, Any] = {}
    for name, scores in all_scores(x, y, x_test, logits).items():
        rows[name] = {"auroc": round(auroc(scores[inside], scores[~inside]), 4)}
        # A fixed operating point, chosen by nobody: 5 % of held-out in-scope training rows rejected.
        points = {"fixed_5pct": (0.05, "alone")} | {
            label: (choice["candidates"][name]["reject_rate"], choice["variant"])
            for label, choice in choices.items()
        }
        for label, (rate, variant) in points.items():
            threshold = oos.threshold_for(held_out[name], rate)
            accepted = scores >= threshold
            if variant == "fallback":
                accepted &= ~falls_back
            rows[name][label] = {"reject_rate": rate, "threshold": round(threshold, 4), **point(accepted)}
    return {
        "in_scope_rows": int(inside.sum()),
        "oos_rows": int((~inside).sum()),
        "closed_set_accuracy": round(float(correct[inside].mean()), 4),
        "methods": rows,
        "todays_fallback_classifier": point(~falls_back),
        "seconds": round(time.monotonic() - started, 1),
    }


def bot_cv_check(x: np.ndarray, y: np.ndarray, setting: dict[str, Any], exempt: str) -> dict[str, Any]:
    """The bot's NLU data, 5-fold cross-validation as `rasa test nlu --cross-validation` folds it
    (stratified), replayed in numpy: the classifier, FallbackClassifier's rule (bot/config.yml: threshold
    0.5, ambiguity 0.1) and, in the second arm, the out-of-scope rejection with its threshold cross-fitted
    inside each training fold exactly as the component does. A rejected or fallen-back message counts as
    nlu_fallback, i.e. wrong. Macro-F1 over the gold intents."""
    from sklearn.metrics import f1_score

    fold_of = oos.stratified_folds(y, 5, seed=0)
    final = {"without": np.empty(len(y), dtype=object), "with": np.empty(len(y), dtype=object)}
    rejected = np.zeros(len(y), dtype=bool)
    for fold in range(5):
        held, kept = fold_of == fold, fold_of != fold
        clf = fit_classifier(x[kept], y[kept])
        probabilities = clf.predict_proba(oos.unit(x[held]))
        falls_back = fallback_rule(clf.decision_function(oos.unit(x[held])))
        predicted = clf.classes_[probabilities.argmax(axis=1)]
        method, k = setting["method"], int(setting.get("k", 10))

        def fit_logits(xf: np.ndarray, yf: np.ndarray, xq: np.ndarray) -> np.ndarray:
            return fit_classifier(xf, yf).decision_function(oos.unit(xq))

        cal = oos.cross_fitted_scores(x[kept], y[kept], method, k=k, fit_logits=fit_logits)
        threshold = oos.threshold_for(cal, setting["reject_rate"])
        logits = clf.decision_function(oos.unit(x[held])) if method in oos.LOGIT_METHODS else None
        scores = oos.score(oos.fit(x[kept], y[kept], method, k), x[held], logits)
        out = (scores < threshold) & (predicted != exempt)
        rejected[held] = out
        final["without"][held] = np.where(falls_back, "nlu_fallback", predicted)
        final["with"][held] = np.where(falls_back | out, "nlu_fallback", predicted)
    labels = sorted(set(y.tolist()))
    return {
        arm: {
            "accuracy": round(float((pred == y).mean()), 4),
            "macro_f1": round(
                float(f1_score(y, pred.astype(str), labels=labels, average="macro", zero_division=0)), 4
            ),
            "fallback_rate": round(float((pred == "nlu_fallback").mean()), 4),
        }
        for arm, pred in final.items()
    } | {"rejected_by_oos": round(float(rejected.mean()), 4)}


def read_bot_data(directory: Path) -> tuple[list[str], np.ndarray]:
    from rasa.shared.nlu.training_data.loading import load_data

    examples = [e for e in load_data(str(directory)).intent_examples if e.get("text") and e.get("intent")]
    return [e.get("text") for e in examples], np.array([e.get("intent") for e in examples])


def print_dev(choice: dict[str, Any], title: str) -> None:
    print(
        f"\n{title} (dev): rate, criterion, in-scope accuracy, OOS recall, AUROC; chosen {choice['chosen']}"
    )
    for name, row in choice["candidates"].items():
        print(
            f"  {name:<12} {row['reject_rate']:>6.3f} {row['criterion']:>7.4f} "
            f"{row['in_scope_accuracy']:>7.4f} {row['oos_recall']:>7.4f} {row['auroc']:>7.4f}"
        )


def run_bot(args: argparse.Namespace) -> dict[str, Any]:
    texts, labels = read_bot_data(args.bot_data)
    x = embed(texts, "bot")
    dev = dev_stage(x, labels, sorted(set(labels.tolist())), exempt=BOT_OUT_OF_SCOPE_INTENT)
    choice = choose(dev, BOT_MAX_ACCURACY_COST, "fallback")
    print_dev(choice, f"bot NLU data, on top of the fallback, accuracy cost <= {BOT_MAX_ACCURACY_COST}")
    name = choice["chosen"]
    method, k = next((m, k) for n, m, k in CANDIDATES if n == name)
    setting = {
        "method": method,
        **({"k": k} if method == "knn" else {}),
        "reject_rate": choice["candidates"][name]["reject_rate"],
    }
    check = bot_cv_check(x, labels, setting, BOT_OUT_OF_SCOPE_INTENT)
    print(f"eval_oos: bot setting {setting}; 5-fold CV replay: {json.dumps(check)}", flush=True)
    return {
        "dataset": "bot/data/nlu",
        "examples": len(texts),
        "intents": len(set(labels.tolist())),
        "dev_groups": dev["groups"],
        "dev_closed_set_accuracy": round(float(dev["closed"]["alone"].mean()), 4),
        "dev": choice,
        "setting": setting,
        "cv_check": check,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "banking77")
    parser.add_argument("--bot-data", type=Path, default=ROOT / "bot" / "data" / "nlu")
    parser.add_argument("--out", type=Path, default=VAR / "eval" / "oos.json")
    parser.add_argument("--skip-bot", action="store_true", help="Banking77 only")
    args = parser.parse_args()
    wall, cpu = time.monotonic(), time.process_time()

    train_texts, train_labels = read_csv(args.data / "train.csv")
    test_texts, test_labels = read_csv(args.data / "test.csv")
    in_scope, out_of_scope = choose_classes(train_labels)
    x_all, x_test = embed(train_texts, "train"), embed(test_texts, "test")
    keep = np.isin(train_labels, in_scope)  # the 17 test out-of-scope classes never reach a choice
    x, y = x_all[keep], train_labels[keep]

    dev = dev_stage(x, y, in_scope)
    choices = {
        "balanced": choose(dev, None, "alone"),
        "bot_rule": choose(dev, BOT_MAX_ACCURACY_COST, "fallback"),
    }
    print_dev(choices["balanced"], "Banking77, criterion without constraint")
    print_dev(
        choices["bot_rule"], f"Banking77, on top of the fallback, accuracy cost <= {BOT_MAX_ACCURACY_COST}"
    )
    test = test_stage(x, y, x_test, test_labels, in_scope, choices)
    result: dict[str, Any] = {
        "banking77": {
            "protocol": {
                "class_seed": CLASS_SEED,
                "in_scope": in_scope,
                "out_of_scope_test_only": out_of_scope,
                "train_rows_in_scope": int(keep.sum()),
                "dev_groups": dev["groups"],
                "reject_rate_grid": [float(REJECT_RATES[0]), float(REJECT_RATES[-1]), 0.005],
            },
            "dev_closed_set_accuracy": round(float(dev["closed"]["alone"].mean()), 4),
            "dev": choices,
            "test": test,
        }
    }
    print(
        f"\nBanking77 test ({test['in_scope_rows']} in scope, {test['oos_rows']} out of scope; closed-set "
        f"accuracy {test['closed_set_accuracy']:.4f}): in-scope accuracy / rejected / OOS recall"
    )
    print(f"  {'method':<12} {'AUROC':>6}  {'fixed 5 %':>22}  {'balanced (dev)':>22}  {'bot rule (dev)':>22}")
    for name, row in test["methods"].items():
        cells = [
            f"{row[c]['in_scope_accuracy']:.3f}/{row[c]['in_scope_rejected']:.3f}/{row[c]['oos_recall']:.3f}"
            for c in ("fixed_5pct", "balanced", "bot_rule")
        ]
        print(f"  {name:<12} {row['auroc']:>6.4f}  " + "  ".join(f"{c:>22}" for c in cells))
    print(f"  today's FallbackClassifier (0.5, ambiguity 0.1) alone: {test['todays_fallback_classifier']}")
    print("  as the open-intent literature reports it (ADB): accuracy / macro-F1 / open F1 / known F1")
    for name, row in test["methods"].items():
        cells = [
            f"{row[c]['open_set_accuracy']:.3f}/{row[c]['open_set_macro_f1']:.3f}/{row[c]['open_f1']:.3f}/"
            f"{row[c]['known_macro_f1']:.3f}"
            for c in ("fixed_5pct", "balanced", "bot_rule")
        ]
        print(f"  {name:<12} {'':>6}  " + "  ".join(f"{c:>22}" for c in cells))
    if not args.skip_bot:
        result["bot"] = run_bot(args)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result |= {
        "wall_seconds": round(time.monotonic() - wall, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "max_rss_mb": round(usage.ru_maxrss / 1024),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"eval_oos: wall {result['wall_seconds']:.0f} s, CPU {result['cpu_seconds']:.0f} s -> {args.out}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
