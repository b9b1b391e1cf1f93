"""Airline-sentiment evaluation of the pipeline's SentimentAnalyzer, trained exactly as `rasa train` does.

Run in the Rasa venv from the repository root (`make eval-sentiment`):
    SUPPORTDESK_ENCODER_DIR=/path/to/encoder python scripts/eval_sentiment.py

Takes the configs of SentenceEncoderFeaturizer and SentimentAnalyzer from bot/config.yml, trains both through
their GraphComponent API into a temporary Rasa model storage, loads them back from it (as the Rasa server
does), featurizes the held-out airline_sentiment/test.csv with the featurizer and lets the analyzer label
it. Prints accuracy, macro-F1, per-class precision/recall/F1 and the expected calibration error of the
reported confidence; writes var/eval/sentiment_airline.json.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the custom components are imported by module path (nlu.*)

from scripts.paths import SHARED_DATA, VAR  # noqa: E402

FEATURIZER = "nlu.featurizer.SentenceEncoderFeaturizer"
ANALYZER = "nlu.sentiment.SentimentAnalyzer"


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
    context = ExecutionContext(GraphSchema({}), node_name=f"run_{name}")
    return component.load({**component.get_default_config(), **config}, storage, resource, context), seconds


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


def report(gold: list[str], sentiments: list[dict[str, Any]]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    predicted = [s["label"] for s in sentiments]
    labels = ["negative", "neutral", "positive"]
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=labels)
    return {
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "macro_f1": round(float(f1_score(gold, predicted, labels=labels, average="macro")), 4),
        "per_class": {
            label: {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(n),
            }
            for label, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True)
        },
        "expected_calibration_error": round(
            expected_calibration_error(
                [s["confidence"] for s in sentiments], [p == g for p, g in zip(predicted, gold, strict=True)]
            ),
            4,
        ),
        "score_range": [min(s["score"] for s in sentiments), max(s["score"] for s in sentiments)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, default=ROOT / "bot" / "config.yml")
    parser.add_argument("--test", type=Path, default=SHARED_DATA / "airline_sentiment" / "test.csv")
    parser.add_argument("--out", type=Path, default=VAR / "eval" / "sentiment_airline.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("nlu").setLevel(logging.INFO)  # says whether the CSV embeddings came from the cache

    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.shared.nlu.training_data.message import Message

    from nlu.featurizer import SentenceEncoderFeaturizer
    from nlu.sentiment import SENTIMENT, SentimentAnalyzer, resolve_training_csv

    configs = pipeline_configs(args.config)
    texts, gold = read_csv(args.test)
    with tempfile.TemporaryDirectory(prefix="eval-sentiment-") as tmp:
        storage = LocalModelStorage(Path(tmp))
        featurizer, _ = train_and_load(SentenceEncoderFeaturizer, configs[FEATURIZER], storage, "featurizer")
        print(f"eval_sentiment: training SentimentAnalyzer ({configs[ANALYZER] or 'defaults'})", flush=True)
        analyzer, train_seconds = train_and_load(SentimentAnalyzer, configs[ANALYZER], storage, "sentiment")
        started = time.monotonic()
        messages = analyzer.process(featurizer.process([Message(data={"text": t}) for t in texts]))
        predict_seconds = time.monotonic() - started

    result = {
        "dataset": "airline_sentiment",
        "train_csv": str(resolve_training_csv(configs[ANALYZER].get("training_csv"))),
        "test_examples": len(texts),
        **report(gold, [m.get(SENTIMENT) for m in messages]),
        "train_seconds": round(train_seconds, 1),
        "predict_seconds_with_encoding": round(predict_seconds, 1),
        "config": configs[ANALYZER],
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result, indent=2), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    per_class = ", ".join(f"{label} {v['f1']:.3f}" for label, v in result["per_class"].items())
    print(
        f"eval_sentiment: accuracy {result['accuracy']:.4f}, macro-F1 {result['macro_f1']:.4f} "
        f"(F1 {per_class}), ECE {result['expected_calibration_error']:.3f}; "
        f"train {train_seconds:.0f} s -> {args.out}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
