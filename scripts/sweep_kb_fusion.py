"""Sweep the shop's search fusion on its dev questions, refitting the answer decision for each setting.

Run: PYTHONPATH=. python -m scripts.sweep_kb_fusion [--out var/eval/kb_fusion_sweep.json]

`scripts/eval_kb.py --shop` sweeps the RRF constants on two lists (dense + BM25) and reports recall only; the
shop's search fuses a third list (the sentence ranking, knowledge/store.py) and what matters is the answer
decision, whose features move with the ranking. So here each setting is applied to the real
`KnowledgeIndex.search` path (the module constants `RRF_K`, `LEXICAL_WEIGHT`, `SENTENCE_WEIGHT` that
knowledge/store.py reads at search time), and the decision is refitted on dev by `fit_calibration`, the same
procedure as `--save-shop-calibration` (leave-one-writer-out figures included). Dev only: no test question is
read. Nothing is written to knowledge/; the issue 14 example questions are asked of each refit.
"""

import argparse
import json
from pathlib import Path

import knowledge.store as store
from ml import kb_shop
from scripts.paths import VAR

# The shipped setting first; then BM25 weights around it, and a few RRF constants / sentence weights.
SETTINGS: tuple[tuple[int, float, float], ...] = (
    (10, 0.25, 1.0),
    (10, 0.0, 1.0),
    (10, 0.1, 1.0),
    (10, 0.4, 1.0),
    (10, 0.5, 1.0),
    (10, 0.75, 1.0),
    (10, 1.0, 1.0),
    (30, 0.25, 1.0),
    (30, 0.75, 1.0),
    (60, 0.25, 1.0),
    (10, 0.25, 0.5),
    (10, 0.25, 2.0),
    (10, 0.75, 0.5),
    (10, 0.75, 2.0),
)
# Issue 14's example in the two forms a customer types; the product must answer both.
EXAMPLES = ("what's the difference between basic and plus", "what is the difference between basic and plus")
FIGURES = (
    "dev_recall_at_1",
    "dev_lowo_precision",
    "dev_lowo_precision_mix",
    "dev_lowo_answered_share",
    "dev_lowo_refusal_rate",
    "dev_lowo_auc",
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=VAR / "eval" / "kb_fusion_sweep.json")
    args = parser.parse_args()
    shipped = (store.RRF_K, store.LEXICAL_WEIGHT, store.SENTENCE_WEIGHT)
    questions = kb_shop.load_questions()
    rows: list[dict[str, object]] = []
    print(
        f"{'k':>3} {'bm25':>5} {'sent':>5} {'thr':>6} {'R@1':>6} {'lowoP':>6} {'P30%':>7} {'lowoA':>6} "
        f"{'lowoR':>6} {'AUC':>6}  examples answered"
    )
    with kb_shop.shop_kb() as kb:
        loaded = kb.index.calibrator
        try:
            for k, weight, sentence in SETTINGS:
                store.RRF_K, store.LEXICAL_WEIGHT, store.SENTENCE_WEIGHT = k, weight, sentence
                fitted = kb.fit_calibration(questions)  # dev only, as --save-shop-calibration
                kb.index.calibrator = fitted
                answered = [kb.index.search(q, 10).answerable for q in EXAMPLES]
                kb.index.calibrator = loaded
                row = {
                    "k": k,
                    "bm25_weight": weight,
                    "sentence_weight": sentence,
                    "threshold": round(fitted.threshold, 4),
                    **{f: fitted.metrics[f] for f in FIGURES},
                    "examples_answered": dict(zip(EXAMPLES, answered, strict=True)),
                }
                rows.append(row)
                print(
                    f"{k:>3} {weight:>5} {sentence:>5} {fitted.threshold:>6.3f} "
                    + " ".join(f"{fitted.metrics[f]:>6.3f}" for f in FIGURES[:2])
                    + f" {fitted.metrics['dev_lowo_precision_mix']:>7.3f} "
                    + " ".join(f"{fitted.metrics[f]:>6.3f}" for f in FIGURES[3:])
                    + f"  {sum(answered)}/{len(answered)}",
                    flush=True,
                )
        finally:
            store.RRF_K, store.LEXICAL_WEIGHT, store.SENTENCE_WEIGHT = shipped
            kb.index.calibrator = loaded
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"shipped": shipped, "rows": rows}, indent=1) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
