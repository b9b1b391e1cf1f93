"""PII redaction on the seeded test set (ml/pii_eval.py): precision and recall per type, the
spaCy load time and the time per message. Run: python -m scripts.eval_pii [--size N] [--seed S] [--show]

Writes var/eval/pii.json. --show also prints every false positive and every missed span.
"""

from __future__ import annotations

import argparse
import json
import time

from backend.privacy import redaction
from ml import pii_eval
from scripts.paths import VAR


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=600)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--show", action="store_true", help="print false positives and misses")
    args = parser.parse_args(argv)
    samples = pii_eval.build_test_set(args.size, args.seed)
    started = time.perf_counter()
    redaction.ner_pipeline()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    scores = pii_eval.score(samples)
    batched_ms = (time.perf_counter() - started) / len(samples) * 1000
    started = time.perf_counter()
    for sample in samples[:200]:
        redaction.redact(sample.text)
    single_ms = (time.perf_counter() - started) / min(200, len(samples)) * 1000
    started = time.perf_counter()
    redaction.redact_many([s.text for s in samples], names=False)
    regex_ms = (time.perf_counter() - started) / len(samples) * 1000
    print(f"== PII redaction, seeded test set: {len(samples)} messages (seed {args.seed})")
    print(f"{'type':6} {'gold':>5} {'found':>5} {'recall':>7} {'predicted':>9} {'precision':>9}")
    for label in ("EMAIL", "PHONE", "CARD", "IBAN", "NAME"):
        s = scores.get(label, pii_eval.Scores())
        print(f"{label:6} {s.gold:5d} {s.found:5d} {s.recall:7.3f} {s.predicted:9d} {s.precision:9.3f}")
    print(
        f"spaCy load {load_s:.2f} s; per message {single_ms:.2f} ms one by one, {batched_ms:.2f} ms batched "
        f"(nlp.pipe), {regex_ms:.3f} ms patterns only"
    )
    if args.show:
        for label, found, text in pii_eval.false_positives(samples):
            print(f"FP {label}: {found!r} in {text!r}")
        for label, missed, text in pii_eval.misses(samples):
            print(f"MISS {label}: {missed!r} in {text!r}")
    out = VAR / "eval" / "pii.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    figures = {
        label: {"gold": s.gold, "recall": s.recall, "predicted": s.predicted, "precision": s.precision}
        for label, s in scores.items()
    }
    timing = {"spacy_load_s": load_s, "per_message_ms": single_ms, "batched_ms": batched_ms}
    out.write_text(
        json.dumps({"size": len(samples), "seed": args.seed, "types": figures, **timing}, indent=2)
    )


if __name__ == "__main__":
    main()
