"""Banking77 evaluation of the project's NLU pipeline: bot/config.yml itself, not a copy.

Run in the Rasa venv from the repository root (`make eval-nlu`):
    SUPPORTDESK_ENCODER_DIR=/path/to/encoder python scripts/eval_nlu.py

Trains an NLU-only Rasa model with `rasa.model_training.train_nlu` on banking77/train.csv (written as Rasa
YAML to a temporary directory outside the repo, with a fresh Rasa training cache so the timing is honest),
loads the archive with Rasa's graph loader and parses banking77/test.csv through the prediction graph in one
batch. Prints accuracy and macro-F1 of the intent classifier (top of `intent_ranking`) and of the final
`intent` after FallbackClassifier, plus training and inference times; writes var/eval/nlu_banking77.json.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the custom components are imported by module path (nlu.*)

from scripts.paths import SHARED_DATA, VAR  # noqa: E402

FALLBACK_INTENT = "nlu_fallback"


def read_csv(path: Path, limit: int | None = None) -> tuple[list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if limit and limit < len(rows):  # the files are sorted by intent: sample, do not truncate
        rows = random.Random(0).sample(rows, limit)
    return [r["text"] for r in rows], [r["category"] for r in rows]


def write_nlu_yaml(texts: list[str], intents: list[str], target: Path) -> None:
    """Rasa's own YAML writer, so quoting and escaping of the 10k examples is Rasa's business."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    examples = [Message(data={"text": t, "intent": i}) for t, i in zip(texts, intents, strict=True)]
    RasaYAMLWriter().dump(target, TrainingData(training_examples=examples))


def train(config: Path, nlu_file: Path, out: Path) -> tuple[Path, float]:
    from rasa.model_training import train_nlu

    started = time.monotonic()
    model = train_nlu(
        config=str(config), nlu_data=str(nlu_file), output=str(out), fixed_model_name="banking77"
    )
    if model is None:
        raise SystemExit("eval_nlu: training produced no model")
    return Path(model), time.monotonic() - started


def predict(model: Path, texts: list[str], storage: Path) -> tuple[list[dict[str, Any]], float]:
    """Parses all texts in one run of the prediction graph (the featurizer embeds them in batches)."""
    from rasa.core.channels import UserMessage
    from rasa.engine.loader import load_predict_graph_runner
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.shared.nlu.constants import TEXT

    storage.mkdir(
        parents=True, exist_ok=True
    )  # must exist, or Rasa unpacks the first resource AS the storage
    metadata, runner = load_predict_graph_runner(storage, model, LocalModelStorage, DaskGraphRunner)
    started = time.monotonic()
    results = runner.run(
        inputs={"__message__": [UserMessage(text) for text in texts]}, targets=[metadata.nlu_target]
    )
    elapsed = time.monotonic() - started
    parsed = [m.as_dict(only_output_properties=True) for m in results[metadata.nlu_target]]
    if [p.get(TEXT) for p in parsed] != [t.strip() for t in texts]:  # UserMessage strips the text
        raise SystemExit("eval_nlu: the graph returned messages out of order")
    return parsed, elapsed


def single_message_latency(model: Path, texts: list[str]) -> tuple[float, dict[str, Any]]:
    """Median seconds per `Agent.parse_message` call, the path the Rasa server takes for each turn."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    timings, last = [], {}
    for text in texts:
        started = time.monotonic()
        last = asyncio.run(agent.parse_message(text))
        timings.append(time.monotonic() - started)
    return sorted(timings)[len(timings) // 2], last


def classifier_intent(parse: dict[str, Any]) -> str | None:
    """The classifier's own top intent: FallbackClassifier prepends nlu_fallback to the ranking."""
    ranking = [r for r in parse.get("intent_ranking", []) if r.get("name") != FALLBACK_INTENT]
    return ranking[0]["name"] if ranking else None


def scores(gold: list[str], predicted: list[str | None]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(gold))
    safe = [p if p is not None else "" for p in predicted]
    return {
        "accuracy": round(float(accuracy_score(gold, safe)), 4),
        "macro_f1": round(float(f1_score(gold, safe, labels=labels, average="macro", zero_division=0)), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, default=ROOT / "bot" / "config.yml")
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "banking77")
    parser.add_argument("--out", type=Path, default=VAR / "eval" / "nlu_banking77.json")
    parser.add_argument(
        "--limit", type=int, default=None, help="a seeded sample of N rows per split (smoke runs)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    for name in ("rasa.engine.training.hooks", "nlu"):  # progress: which component trains, cache hits
        logging.getLogger(name).setLevel(logging.INFO)

    train_texts, train_intents = read_csv(args.data / "train.csv", args.limit)
    test_texts, test_intents = read_csv(args.data / "test.csv", args.limit)
    with tempfile.TemporaryDirectory(prefix="eval-nlu-") as tmp:
        work = Path(tmp)
        # A fresh training cache: otherwise a second run reuses trained nodes and the timing means nothing.
        os.environ["RASA_CACHE_DIRECTORY"] = str(work / "cache")
        write_nlu_yaml(train_texts, train_intents, work / "nlu.yml")
        print(f"eval_nlu: training {args.config} on {len(train_texts)} Banking77 examples", flush=True)
        model, train_seconds = train(args.config, work / "nlu.yml", work / "models")
        print(f"eval_nlu: trained in {train_seconds:.0f} s; parsing {len(test_texts)} test texts", flush=True)
        parsed, predict_seconds = predict(model, test_texts, work / "storage")
        latency, example = single_message_latency(model, test_texts[:30])

    final = [p.get("intent", {}).get("name") for p in parsed]
    result = {
        "dataset": "banking77",
        "config": str(args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config),
        "limit": args.limit,
        "train_examples": len(train_texts),
        "test_examples": len(test_texts),
        "classifier": scores(test_intents, [classifier_intent(p) for p in parsed]),
        "after_fallback": scores(test_intents, final),
        "fallback_rate": round(sum(name == FALLBACK_INTENT for name in final) / len(final), 4),
        "train_seconds": round(train_seconds, 1),
        "predict_seconds": round(predict_seconds, 1),
        "predict_texts_per_second": round(len(test_texts) / predict_seconds, 1),
        "single_parse_median_seconds": round(latency, 4),
        "example_parse": {k: example.get(k) for k in ("text", "intent", "entities", "sentiment")},
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result, indent=2), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"eval_nlu: Banking77 accuracy {result['classifier']['accuracy']:.4f}, macro-F1 "
        f"{result['classifier']['macro_f1']:.4f} (after FallbackClassifier: accuracy "
        f"{result['after_fallback']['accuracy']:.4f}, fallback rate {result['fallback_rate']:.1%}); "
        f"train {train_seconds:.0f} s, predict {predict_seconds:.0f} s -> {args.out}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
