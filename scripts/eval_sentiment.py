"""Evaluation of the pipeline's SentimentAnalyzer, trained exactly as `rasa train` does.

Run in the Rasa venv from the repository root (`make eval-sentiment`):
    SUPPORTDESK_ENCODER_DIR=/path/to/encoder python scripts/eval_sentiment.py

Takes the configs of SentenceEncoderFeaturizer and SentimentAnalyzer from bot/config.yml and reports, each
figure named by the split it comes from:

1. airline test (shared airline_sentiment/test.csv): the shipped component, trained through its GraphComponent
   API into a temporary Rasa model storage and loaded back from it (as the Rasa server does), labels the
   featurized test texts. The only place the test split is read; nothing is chosen on it. With
   `domain_adaptation` the component is loaded a second time with `domain: airline` for this figure (the
   airline model of the two it trains); what the bot's `support` model says of the tweets is printed beside.
2. airline dev: the same component trained with `exclude_airline_dev` (the seeded 15 % of train.csv picked by
   `nlu.sentiment.is_airline_dev`), scored on those held-out rows, by the airline model as in 1. Choices are
   made on this figure.
3. in-domain cross-validation on ml/data/sentiment_train.yml: 5 stratified folds, seeded, grouped so that
   near-duplicate messages stay in one fold; each fold's model is the component's own `fit_model` on the whole
   airline train.csv and the other folds. Reports the pooled out-of-fold macro-F1 and the confusion matrix.
4. conversations dev (only when ml/data/conversations/*.yml exist): the shipped model on every labelled
   customer turn of the conversations whose id hashes to `dev` (docs/labelling.md section 4). The `test`
   conversations are never scored here: `make eval-decisions` reports them.

Each figure is also given for the component as it was before the in-domain set (airline CSV only, its old C
and dense_weight, one domain), so the change shows; `--shipped-only` leaves that model and the in-domain
cross-validation out (their figures are in docs/benchmarks.md) when the machine is busy. Writes
var/eval/sentiment.json.

`--dev-sweep` instead scores a small grid of SentimentAnalyzer settings on dev splits only (never test.csv):
airline dev (fit_model on train.csv without the dev rows plus the whole in-domain set), the in-domain grouped
cross-validation above, and conversations dev (scored by that airline-dev model). Embeddings come from the
component's cache, computed once for every configuration. Each argument is one or more configurations,
`key=value` pairs joined by `:`, `|` separating values to cross:
    python scripts/eval_sentiment.py --dev-sweep "in_domain_weight=0.5|1:C=2|4" "class_weight=None:C=4"
`--cv-min-airline-dev F` runs the (five times slower) in-domain cross-validation only for the configurations
whose airline dev reaches F. Writes var/eval/sentiment_sweep.json.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the custom components are imported by module path (nlu.*)

from scripts.paths import SHARED_DATA, VAR  # noqa: E402

FEATURIZER = "nlu.featurizer.SentenceEncoderFeaturizer"
ANALYZER = "nlu.sentiment.SentimentAnalyzer"
LABELS = ["negative", "neutral", "positive"]
# Published on this split in ../shared/data/README.md (TF-IDF word+char n-grams, logistic regression).
TFIDF_LR_REFERENCE = {"macro_f1": 0.791, "accuracy": 0.836}
CV_FOLDS = 5
CV_SEED = 13
# The component before the in-domain set (issue 14): trained on the airline CSV alone, with its C and weight.
AIRLINE_ONLY = {"in_domain_data": "", "C": 2.0, "dense_weight": 1.5, "domain_adaptation": False}
# Hyperparameters printed with the figures (the rest of the config rarely changes).
SHOWN = ("domain_adaptation", "in_domain_weight", "C", "dense_weight", "class_weight", "calibration")
# Two messages whose word sets overlap this much are near-duplicates (one template, another slot): same fold.
NEAR_DUPLICATE_JACCARD = 0.5
_WORD = re.compile(r"[a-z0-9']+")


def pipeline_configs(config_path: Path) -> dict[str, dict[str, Any]]:
    """The pipeline entries of the two components, by name, without the `name` key."""
    import yaml

    pipeline = yaml.safe_load(config_path.read_text())["pipeline"]
    found = {entry["name"]: {k: v for k, v in entry.items() if k != "name"} for entry in pipeline}
    missing = [name for name in (FEATURIZER, ANALYZER) if name not in found]
    if missing:
        raise SystemExit(f"eval_sentiment: {config_path} has no {', '.join(missing)}")
    return {name: found[name] for name in (FEATURIZER, ANALYZER)}


def train_and_load(component: Any, config: dict[str, Any], storage: Any, name: str) -> tuple[Any, float]:
    """create -> train -> load from the persisted resource, as the training and prediction graphs do."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.training_data import TrainingData

    resource = Resource(f"train_{name}")
    context = ExecutionContext(GraphSchema({}), node_name=f"train_{name}")
    started = time.monotonic()
    component.create({**component.get_default_config(), **config}, storage, resource, context).train(
        TrainingData()
    )
    seconds = time.monotonic() - started
    return load(component, config, storage, name), seconds


def load(component: Any, config: dict[str, Any], storage: Any, name: str) -> Any:
    """The component trained by `train_and_load(..., name)`, loaded back with `config` (which may differ in
    what only prediction reads, such as SentimentAnalyzer's `domain`)."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.resource import Resource

    context = ExecutionContext(GraphSchema({}), node_name=f"run_{name}")
    merged = {**component.get_default_config(), **config}
    return component.load(merged, storage, Resource(f"train_{name}"), context)


def read_csv(path: Path) -> tuple[list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], [r["sentiment"] for r in rows]


def expected_calibration_error(confidences: list[float], correct: list[bool], bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    import numpy as np

    conf, hit = np.asarray(confidences), np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        in_bin = (conf > low) & (conf <= high)
        if in_bin.any():
            total += in_bin.mean() * abs(hit[in_bin].mean() - conf[in_bin].mean())
    return float(total)


def report(gold: Sequence[str], sentiments: Sequence[dict[str, Any]]) -> dict[str, Any]:
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    predicted = [s["label"] for s in sentiments]
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=LABELS, zero_division=0
    )
    return {
        "examples": len(gold),
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "macro_f1": round(float(f1_score(gold, predicted, labels=LABELS, average="macro")), 4),
        "per_class": {
            label: {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(n),
            }
            for label, p, r, f, n in zip(LABELS, precision, recall, f1, support, strict=True)
        },
        # Rows: gold label, columns: predicted, both in LABELS order.
        "confusion": confusion_matrix(gold, predicted, labels=LABELS).tolist(),
        "expected_calibration_error": round(
            expected_calibration_error(
                [s["confidence"] for s in sentiments], [p == g for p, g in zip(predicted, gold, strict=True)]
            ),
            4,
        ),
        "score_range": [min(s["score"] for s in sentiments), max(s["score"] for s in sentiments)],
    }


def near_duplicate_groups(texts: Sequence[str], threshold: float = NEAR_DUPLICATE_JACCARD) -> list[int]:
    """Group id per text: connected components of the pairs whose word sets have Jaccard >= threshold, so a
    paraphrase of a training message is never the held-out message that makes cross-validation look good."""
    words = [frozenset(_WORD.findall(t.lower())) for t in texts]
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in itertools.combinations(range(len(texts)), 2):
        a, b = words[i], words[j]
        if a and b and len(a & b) >= threshold * len(a | b):
            parent[root(i)] = root(j)
    return [root(i) for i in range(len(texts))]


def cross_validate(
    config: dict[str, Any],
    airline: tuple[list[str], list[str], Any],
    domain: tuple[list[str], list[str], Any],
) -> list[dict[str, Any]]:
    """Out-of-fold sentiments of every in-domain example: each fold's model is fit_model on all the airline
    rows plus the in-domain examples of the other folds (weighted as the component weighs them), labelled by
    its support model."""
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    from nlu.sentiment import AIRLINE, SUPPORT, fit_model, predict_proba, sentiment_of

    airline_texts, airline_labels, airline_dense = airline
    texts, labels, dense = domain
    folds = StratifiedGroupKFold(n_splits=CV_FOLDS, shuffle=True, random_state=CV_SEED)
    out: list[dict[str, Any]] = [{}] * len(texts)
    weight = float(config["in_domain_weight"])
    for train, held_out in folds.split(texts, labels, near_duplicate_groups(texts)):
        model = fit_model(
            airline_texts + [texts[i] for i in train],
            airline_labels + [labels[i] for i in train],
            np.vstack([airline_dense, dense[train]]),
            np.concatenate([np.ones(len(airline_texts)), np.full(len(train), weight)]),
            config,
            [AIRLINE] * len(airline_texts) + [SUPPORT] * len(train),
        )
        probabilities = predict_proba(model, [texts[i] for i in held_out], dense[held_out], domain=SUPPORT)
        for i, row in zip(held_out, probabilities, strict=True):
            out[i] = sentiment_of(model["labels"], row)
    return out


def dev_conversation_turns() -> tuple[int, list[str], list[str]] | None:
    """(conversations, texts, labels) of the customer turns of the `dev` conversations; None without data.
    Only the dev split leaves this function: the test split is for `make eval-decisions`."""
    from ml import conversations

    if not conversations.data_files():
        return None
    dev = conversations.of_split(conversations.load(), "dev")
    turns = [turn for conversation in dev for turn in conversation.turns]
    return len(dev), [t.text for t in turns], [t.sentiment for t in turns]


def line(name: str, result: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    text = (
        f"  {name:<58} macro-F1 {result['macro_f1']:.3f}  accuracy {result['accuracy']:.3f}  "
        f"ECE {result['expected_calibration_error']:.3f}  n={result['examples']}"
    )
    if baseline is not None:
        text += f"   (airline-only: macro-F1 {baseline['macro_f1']:.3f})"
    return text


def per_message_ms(analyzer: Any, featurized: Sequence[Any], messages: int = 300) -> float:
    """Median CPU time of the analyzer's `process` on one already featurized message, as the bot calls it
    (one message per parse; the embedding is the featurizer's, so this is the component's own cost). CPU,
    not wall time: the figure should not depend on what else the shared machine runs."""
    import statistics

    times = []
    for message in featurized[:messages]:
        started = time.process_time()
        analyzer.process([message])
        times.append(time.process_time() - started)
    return round(1000 * statistics.median(times), 3)


def before(baseline: dict[str, Any] | None, split: str) -> dict[str, Any] | None:
    """The airline-only model's figure on `split`, when it was run."""
    return baseline[split] if baseline is not None else None


def confusion_table(result: dict[str, Any]) -> str:
    rows = ["      gold \\ predicted   " + "".join(f"{label:>10}" for label in LABELS)]
    for label, counts in zip(LABELS, result["confusion"], strict=True):
        rows.append(f"      {label:<22}" + "".join(f"{n:>10}" for n in counts))
    return "\n".join(rows)


def sweep_configs(specs: Sequence[str], base: dict[str, Any]) -> list[dict[str, Any]]:
    """The configurations of `--dev-sweep` arguments, each over `base` (the config of bot/config.yml)."""
    import yaml

    configs: list[dict[str, Any]] = []
    for spec in specs:
        pairs = [part.split("=", 1) for part in spec.split(":") if part]
        if any(len(pair) != 2 or pair[0] not in base for pair in pairs):
            raise SystemExit(
                f"eval_sentiment: bad --dev-sweep configuration {spec!r} (key=value[:key=value])"
            )
        keys = [key for key, _ in pairs]
        options = [
            [yaml.safe_load(v) if v != "None" else None for v in values.split("|")] for _, values in pairs
        ]
        for values in itertools.product(*options):
            config = {**base, **dict(zip(keys, values, strict=True))}
            if config not in configs:
                configs.append(config)
    return configs


def dev_sweep(specs: Sequence[str], config_path: Path, out: Path, cv_min_airline_dev: float = 0.0) -> int:
    """Scores each configuration on airline dev, in-domain grouped CV and conversations dev; a table."""
    import numpy as np

    from nlu.sentiment import (
        AIRLINE,
        SUPPORT,
        SentimentAnalyzer,
        embed_texts,
        fit_model,
        is_airline_dev,
        predict_proba,
        read_in_domain,
        read_training_rows,
        resolve_in_domain,
        resolve_training_csv,
        sentiment_of,
    )

    base = {**SentimentAnalyzer.get_default_config(), **pipeline_configs(config_path)[ANALYZER]}
    configs = sweep_configs(specs, base)
    in_domain_path = resolve_in_domain(base["in_domain_data"])
    if in_domain_path is None:
        raise SystemExit("eval_sentiment: --dev-sweep needs the in-domain set")
    train_csv = resolve_training_csv(base["training_csv"])
    texts, labels = read_training_rows(
        train_csv, base["text_column"], base["label_column"], base["max_training_rows"], base["random_state"]
    )

    def embed(rows: list[str], name: str) -> Any:
        return embed_texts(rows, base["encoder_dir"], base["model"], base["embedding_cache_dir"], name)

    # The same cached files as the component's training (whole CSV, whole in-domain set).
    dense = embed(texts, train_csv.name)
    domain_texts, domain_labels = read_in_domain(in_domain_path)
    domain_dense = embed(domain_texts, in_domain_path.name)
    dev = np.array([is_airline_dev(t) for t in texts])
    fit_rows = [i for i in range(len(texts)) if not dev[i]]
    dev_rows = [i for i in range(len(texts)) if dev[i]]
    conversations = dev_conversation_turns()
    conversation_dense = embed(conversations[1], "conversations dev") if conversations else None
    print(
        f"eval_sentiment: dev sweep of {len(configs)} configurations; airline dev {len(dev_rows)} rows, "
        f"in-domain {len(domain_texts)}, conversations dev {len(conversations[1]) if conversations else 0}",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    # First airline dev (one fit each), then the in-domain cross-validation (five fits each) of those that
    # reach `cv_min_airline_dev`: a selection rule that requires an airline-dev floor needs no other.
    for number, config in enumerate(configs, start=1):
        started = time.monotonic()
        changed = {k: config[k] for k in SHOWN}
        model = fit_model(
            [texts[i] for i in fit_rows] + domain_texts,
            [labels[i] for i in fit_rows] + domain_labels,
            np.vstack([dense[fit_rows], domain_dense]) if config["use_sentence_features"] else None,
            np.concatenate(
                [np.ones(len(fit_rows)), np.full(len(domain_texts), float(config["in_domain_weight"]))]
            ),
            config,
            [AIRLINE] * len(fit_rows) + [SUPPORT] * len(domain_texts),
        )
        with_dense = bool(model["dense_dim"])
        dev_texts = [texts[i] for i in dev_rows]
        dev_result = report(
            [labels[i] for i in dev_rows],
            [
                sentiment_of(model["labels"], p)
                for p in predict_proba(
                    model, dev_texts, dense[dev_rows] if with_dense else None, domain=AIRLINE
                )
            ],
        )
        conversations_result = None
        if conversations:
            conversations_result = report(
                conversations[2],
                [
                    sentiment_of(model["labels"], p)
                    for p in predict_proba(
                        model, conversations[1], conversation_dense if with_dense else None, domain=SUPPORT
                    )
                ],
            )
        rows.append(
            {
                "config": changed,
                "airline_dev": dev_result,
                "conversations_dev": conversations_result,
                "in_domain_cv": None,
                "seconds": round(time.monotonic() - started, 1),
            }
        )
        print(
            f"  {number:>2} {json.dumps(changed):<105} airline dev {dev_result['macro_f1']:.3f}  "
            f"conversations dev "
            f"{conversations_result['macro_f1'] if conversations_result else float('nan'):.3f}  "
            f"({rows[-1]['seconds']:.0f} s)",
            flush=True,
        )
    for number, (config, row) in enumerate(zip(configs, rows, strict=True), start=1):
        if row["airline_dev"]["macro_f1"] < cv_min_airline_dev:
            continue
        started = time.monotonic()
        row["in_domain_cv"] = report(
            domain_labels,
            cross_validate(config, (texts, labels, dense), (domain_texts, domain_labels, domain_dense)),
        )
        row["seconds"] = round(row["seconds"] + time.monotonic() - started, 1)
        print(
            f"  {number:>2} {json.dumps(row['config']):<105} "
            f"in-domain CV {row['in_domain_cv']['macro_f1']:.3f}"
            f"  ({time.monotonic() - started:.0f} s)",
            flush=True,
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "splits": {
                    "airline_dev": f"{len(dev_rows)} rows of {train_csv.name} (is_airline_dev); "
                    "model: fit_model on the other rows + the whole in-domain set",
                    "in_domain_cv": f"{CV_FOLDS}-fold StratifiedGroupKFold, seed {CV_SEED}, near-duplicate "
                    f"groups; fold models on the whole {train_csv.name} + the other folds",
                    "conversations_dev": "customer turns of the dev conversations, airline-dev model",
                },
                "base_config": {k: base[k] for k in SHOWN},
                "cv_min_airline_dev": cv_min_airline_dev,
                "rows": rows,
                "cpu_count": os.cpu_count(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"eval_sentiment: -> {out}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, default=ROOT / "bot" / "config.yml")
    parser.add_argument("--test", type=Path, default=SHARED_DATA / "airline_sentiment" / "test.csv")
    parser.add_argument("--out", type=Path, default=None, help="default var/eval/sentiment(_sweep).json")
    parser.add_argument(
        "--dev-sweep",
        nargs="+",
        metavar="CONFIG",
        help="score these SentimentAnalyzer settings on the dev splits only (see above) instead",
    )
    parser.add_argument(
        "--shipped-only",
        action="store_true",
        help="only the shipped model's figures: no airline-only model, no in-domain cross-validation",
    )
    parser.add_argument(
        "--cv-min-airline-dev",
        type=float,
        default=0.0,
        help="--dev-sweep: cross-validate in-domain only the configurations with at least this airline dev",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("nlu").setLevel(logging.INFO)  # says whether the embeddings came from the cache
    if args.dev_sweep:
        out = args.out or VAR / "eval" / "sentiment_sweep.json"
        return dev_sweep(args.dev_sweep, args.config, out, args.cv_min_airline_dev)
    args.out = args.out or VAR / "eval" / "sentiment.json"

    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.shared.nlu.training_data.message import Message

    from nlu.featurizer import SentenceEncoderFeaturizer
    from nlu.sentiment import (
        AIRLINE,
        SENTIMENT,
        SentimentAnalyzer,
        embed_texts,
        is_airline_dev,
        read_in_domain,
        read_training_rows,
        resolve_in_domain,
        resolve_training_csv,
    )

    configs = pipeline_configs(args.config)
    analyzer_config = {**SentimentAnalyzer.get_default_config(), **configs[ANALYZER]}
    variants = {"shipped": configs[ANALYZER], "airline_only": {**configs[ANALYZER], **AIRLINE_ONLY}}
    if args.shipped_only:
        del variants["airline_only"]
    train_csv = resolve_training_csv(analyzer_config["training_csv"])
    in_domain_path = resolve_in_domain(analyzer_config["in_domain_data"])
    # The rows (and their order) the component trains on, so the cached embeddings are the same file.
    train_texts, train_labels = read_training_rows(
        train_csv,
        analyzer_config["text_column"],
        analyzer_config["label_column"],
        analyzer_config["max_training_rows"],
        analyzer_config["random_state"],
    )
    dev_rows = [(t, y) for t, y in zip(train_texts, train_labels, strict=True) if is_airline_dev(t)]
    test_texts, test_gold = read_csv(args.test)
    conversations = dev_conversation_turns()
    started = time.monotonic()
    results: dict[str, dict[str, Any]] = {name: {} for name in variants}

    with tempfile.TemporaryDirectory(prefix="eval-sentiment-") as tmp:
        storage = LocalModelStorage(Path(tmp))
        featurizer, _ = train_and_load(SentenceEncoderFeaturizer, configs[FEATURIZER], storage, "featurizer")

        text_sets = {"airline_test": test_texts, "airline_dev": [t for t, _ in dev_rows]}
        if in_domain_path is not None:
            text_sets["in_domain"] = read_in_domain(in_domain_path)[0]
        if conversations is not None:
            text_sets["conversations_dev"] = conversations[1]
        featurized: dict[str, list[Any]] = {}

        def label(analyzer: Any, text_set: str) -> list[dict[str, Any]]:
            # Each text set is encoded once; every analyzer overwrites the sentiment it reads back at once.
            if text_set not in featurized:
                messages = [Message(data={"text": t}) for t in text_sets[text_set]]
                featurized[text_set] = featurizer.process(messages)
            return [m.get(SENTIMENT) for m in analyzer.process(featurized[text_set])]

        for name, config in variants.items():
            print(
                f"eval_sentiment: training the {name} SentimentAnalyzer ({config or 'defaults'})", flush=True
            )
            analyzer, seconds = train_and_load(SentimentAnalyzer, config, storage, name)
            results[name]["train_seconds"] = round(seconds, 1)
            airline_view = load(SentimentAnalyzer, {**config, "domain": AIRLINE}, storage, name)
            results[name]["airline_test"] = report(test_gold, label(airline_view, "airline_test"))
            # The same tweets as the bot would label them (its support model): not the floor's figure.
            results[name]["airline_test_support_model"] = report(test_gold, label(analyzer, "airline_test"))
            results[name]["ms_per_message"] = per_message_ms(analyzer, featurized["airline_test"])
            if in_domain_path is not None and name == "airline_only":
                # Not trained on the in-domain set at all: scored on every example, no folds needed.
                results[name]["in_domain"] = report(
                    read_in_domain(in_domain_path)[1], label(analyzer, "in_domain")
                )
            if conversations is not None:
                results[name]["conversations_dev"] = report(
                    conversations[2], label(analyzer, "conversations_dev")
                )
            without_dev_config = {**config, "exclude_airline_dev": True, "domain": AIRLINE}
            without_dev, _ = train_and_load(
                SentimentAnalyzer, without_dev_config, storage, f"{name}_without_dev"
            )
            results[name]["airline_dev"] = report([y for _, y in dev_rows], label(without_dev, "airline_dev"))

    if in_domain_path is not None and not args.shipped_only:
        print(
            f"eval_sentiment: {CV_FOLDS}-fold grouped cross-validation on {in_domain_path.name}", flush=True
        )
        texts, gold = read_in_domain(in_domain_path)

        def embed(rows: list[str], name: str) -> Any:
            return embed_texts(
                rows,
                analyzer_config["encoder_dir"],
                analyzer_config["model"],
                analyzer_config["embedding_cache_dir"],
                name,
            )

        cv_started = time.monotonic()
        out_of_fold = cross_validate(
            analyzer_config,
            (train_texts, train_labels, embed(train_texts, train_csv.name)),
            (texts, gold, embed(texts, in_domain_path.name)),
        )
        results["shipped"]["in_domain"] = report(gold, out_of_fold)
        results["shipped"]["in_domain"]["cv_seconds"] = round(time.monotonic() - cv_started, 1)

    shipped, baseline = results["shipped"], results.get("airline_only")
    summary = {
        "config": configs[ANALYZER],
        "hyperparameters": {key: analyzer_config[key] for key in SHOWN},
        "airline_only_config": AIRLINE_ONLY,
        "train_csv": str(train_csv),
        "in_domain_data": str(in_domain_path) if in_domain_path else None,
        "splits": {
            "airline_test": str(args.test),
            "airline_dev": f"{len(dev_rows)} rows of {train_csv.name} (nlu.sentiment.is_airline_dev)",
            "in_domain": f"{CV_FOLDS}-fold StratifiedGroupKFold, seed {CV_SEED}, near-duplicate groups",
            "conversations_dev": (
                f"customer turns of {conversations[0]} dev conversations" if conversations else None
            ),
        },
        "tfidf_lr_reference_airline_test": TFIDF_LR_REFERENCE,
        "shipped": shipped,
        "airline_only": baseline,
        "seconds": round(time.monotonic() - started, 1),
        "cpu_count": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")

    shown = ", ".join(f"{key} {analyzer_config[key]}" for key in SHOWN)
    print(f"\neval_sentiment: shipped SentimentAnalyzer ({shown}) -> {args.out}")
    if baseline is not None:
        print(
            "  in brackets: the component before the in-domain set (airline CSV only, C 2, dense_weight 1.5)"
        )
    test = shipped["airline_test"]
    print(line("airline test (shared test.csv, report only)", test, before(baseline, "airline_test")))
    support_view = shipped["airline_test_support_model"]
    print(line("  the same tweets labelled by the bot's support model", support_view, None))
    print(f"  component CPU per message (median of single-message calls): {shipped['ms_per_message']} ms")
    print(
        f"  {'':<58} TF-IDF + LR reference on this split: macro-F1 {TFIDF_LR_REFERENCE['macro_f1']:.3f}, "
        f"accuracy {TFIDF_LR_REFERENCE['accuracy']:.3f}"
    )
    print(
        "  "
        + ", ".join(f"{label} F1 {test['per_class'][label]['f1']:.3f}" for label in LABELS)
        + f"; score range {test['score_range']}"
    )
    print(
        line(
            f"airline dev ({len(dev_rows)} held-out rows of train.csv)",
            shipped["airline_dev"],
            before(baseline, "airline_dev"),
        )
    )
    if "in_domain" in shipped:
        print(
            line(
                f"in-domain {CV_FOLDS}-fold grouped CV ({in_domain_path.name})",
                shipped["in_domain"],
                before(baseline, "in_domain"),
            )
        )
        print("    confusion, in-domain CV (shipped config):")
        print(confusion_table(shipped["in_domain"]))
        if baseline is not None:
            print("    confusion, in-domain set labelled by the airline-only model:")
            print(confusion_table(baseline["in_domain"]))
    if conversations is not None:
        print(
            line(
                f"conversations dev ({conversations[0]} conversations, customer turns)",
                shipped["conversations_dev"],
                before(baseline, "conversations_dev"),
            )
        )
        print("    confusion, conversations dev (shipped model):")
        print(confusion_table(shipped["conversations_dev"]))
    else:
        print("  conversations dev: no ml/data/conversations/*.yml, not reported")
    print("  (conversations test: not scored here, see make eval-decisions)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
