"""PII detection on the hand-written set (ml/data/pii_messages.yml, rules in docs/pii_labelling.md): the
redactor, Microsoft Presidio and the shipped per-type combination, per type, on dev and on test, with
exact-span and overlap precision/recall/F1 and leak-free recall; load time and cost per message.

Run: python -m scripts.eval_pii [--write-choice] [--show]   (make eval-pii)

The detector each type ships with is chosen on dev only (ml/pii_compare.choose: the assignment whose
merged output has the best mean overlap F1, fewer Presidio types on a tie); --write-choice stores it in
backend/privacy/pii_detectors.json, which the redactor reads. Without it, the script says whether the
stored choice still matches dev. --show prints every dev error (false positive, miss, partial span); test
errors are not printed, so that nobody tunes on them.
Writes var/eval/pii.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

from backend.privacy import detectors, presidio_detector, redaction
from backend.privacy.redaction import Span
from ml import pii_compare
from ml.pii_compare import Detector
from scripts.paths import VAR

COLUMNS = ("exact_p", "exact_r", "exact_f1", "overlap_p", "overlap_r", "overlap_f1", "leak_free_r")


def _cost_ms(detect: Detector, texts: Sequence[str], rounds: int = 3) -> tuple[float, float]:
    """CPU ms per message (process time, all threads): in one batch, and one message per call; best of
    `rounds` after a warm-up. CPU time, not wall time: the machine is shared, and CPU is what the worker's
    child takes from the other processes."""
    detect(texts[:8])
    batched, single = [], []
    for _ in range(rounds):
        started = time.process_time()
        detect(texts)
        batched.append((time.process_time() - started) / len(texts) * 1000)
        sample = texts[:60]
        started = time.process_time()
        for text in sample:
            detect([text])
        single.append((time.process_time() - started) / len(sample) * 1000)
    return min(batched), min(single)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write-choice", action="store_true", help="store the dev choice for the redactor")
    parser.add_argument("--show", action="store_true", help="print every dev error of each detector")
    args = parser.parse_args(argv)

    messages = pii_compare.load_messages()
    # Presidio first: its load then includes importing spaCy, as in the redactor's child process, which
    # (Presidio on) loads only Presidio's pipeline; the redactor's own pipeline is timed after it.
    loads = {}
    started = time.perf_counter()
    presidio_detector.engines()
    loads["presidio"] = time.perf_counter() - started
    started = time.perf_counter()
    redaction.ner_pipeline()
    loads["redactor"] = time.perf_counter() - started

    compared = pii_compare.compare(messages)
    choice, dev_mean_f1 = pii_compare.choose(messages, compared.by_id)
    stored = detectors.read_choice() if detectors.CHOICE_FILE.exists() else None
    if args.write_choice:
        detectors.CHOICE_FILE.write_text(
            json.dumps(
                {
                    "chosen_on": "dev split of ml/data/pii_messages.yml (scripts/eval_pii.py --write-choice)",
                    "rule": "of the 2^5 assignments, the best mean overlap F1 over the types of the merged "
                    "output on dev; fewer Presidio types on a tie",
                    "dev_mean_overlap_f1": round(dev_mean_f1, 4),
                    "dev_overlap_f1_alone": {
                        kind: {
                            name: round(compared.scores["dev"][name][kind].overlap_f1, 4)
                            for name in pii_compare.DETECTORS
                        }
                        for kind in pii_compare.TYPES
                    },
                    "types": choice,
                },
                indent=2,
            )
            + "\n"
        )
        stored = choice

    def shipped(texts: Sequence[str]) -> list[list[Span]]:
        return detectors.find_spans_many(texts, names=True, choice=choice)

    for split in ("dev", "test"):
        part = pii_compare.of_split(messages, split)
        predictions = shipped([message.text for message in part])
        compared.predictions[split]["shipped"] = predictions
        compared.scores[split]["shipped"] = pii_compare.score(part, predictions)

    texts = [message.text for message in messages]
    costs = {
        "redactor": _cost_ms(lambda t: redaction.find_spans_many(t, names=True), texts),
        "presidio": _cost_ms(presidio_detector.find_spans_many, texts),
        "shipped": _cost_ms(shipped, texts),
    }

    print(f"== PII detection, hand-written set ({pii_compare.DATA.name}, {len(messages)} messages)")
    for split in ("dev", "test"):
        part = pii_compare.of_split(messages, split)
        counts = ", ".join(
            f"{kind} {sum(s.label == kind for m in part for s in m.gold)}" for kind in pii_compare.TYPES
        )
        print(f"{split}: {len(part)} messages, {sum(not m.gold for m in part)} without PII; gold {counts}")
    print()
    print(
        "| type | detector | split | gold | pred | exact P | exact R | exact F1 | overlap P | overlap R | "
        "overlap F1 | leak-free R |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in pii_compare.TYPES:
        for name in (*pii_compare.DETECTORS, "shipped"):
            for split in ("dev", "test"):
                s = compared.scores[split][name][kind]
                cells = " | ".join(f"{getattr(s, column):.3f}" for column in COLUMNS)
                mark = f" ({choice[kind]})" if name == "shipped" else ""
                print(f"| {kind} | {name}{mark} | {split} | {s.gold} | {s.predicted} | {cells} |")
    print()
    print("chosen on dev:", ", ".join(f"{kind} {choice[kind]}" for kind in pii_compare.TYPES))
    if stored is not None and stored != choice:
        print(f"NOTE: {detectors.CHOICE_FILE.name} ships {stored}; dev now picks {choice} (--write-choice)")
    print(
        f"load: Presidio (spaCy import + full pipeline) {loads['presidio']:.2f} s, then the redactor's "
        f"trimmed pipeline {loads['redactor']:.2f} s"
    )
    for name, (batched, single) in costs.items():
        print(f"{name}: {batched:.2f} CPU ms per message in one batch, {single:.2f} one at a time")
    if args.show:
        for name in pii_compare.DETECTORS:
            dev = pii_compare.of_split(messages, "dev")
            for kind, label, where in pii_compare.errors(dev, compared.predictions["dev"][name]):
                print(f"{name} {kind} {label}: {where}")

    out = VAR / "eval" / "pii.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    figures = {
        split: {
            name: {kind: s.as_dict() for kind, s in by_type.items()}
            for name, by_type in compared.scores[split].items()
        }
        for split in ("dev", "test")
    }
    out.write_text(
        json.dumps(
            {
                "set": str(pii_compare.DATA.relative_to(pii_compare.DATA.parents[2])),
                "messages": len(messages),
                "choice": choice,
                "scores": figures,
                "load_s": loads,
                "cost_ms": {name: {"batched": b, "single": s} for name, (b, s) in costs.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
