"""The cross-encoder re-ranker (knowledge/rerank.py) on the bank FAQ and on the demo shop's dev questions.

Run by `python -m scripts.eval_kb` (make eval-kb) after the adapted encoder's run; its first stage is that
run's hybrid ranking. Splits are eval_kb's (by answer):

- trained on the *dev-train* questions only: each question's right article and the first stage's top 3
  wrong ones as hard negatives (the adapted encoder trained on these questions too);
- every choice on *dev-cal* (questions neither model trained on): the number of epochs (a model is saved
  after each), how many candidates are re-ranked and the cross-encoder's weight in the final fusion, by
  recall@5 then MRR@10; the choice is saved beside the chosen model (`choice.json`);
- *test* scored once, with the choice made: recall@1, recall@5, MRR@10, and the re-ranker's cost per query
  (one question at a time, the encoder's thread setting, KB_EMBED_THREADS).

`shop_dev` (`python -m scripts.eval_kb --shop-rerank-dev DIR`) asks whether the re-ranker's score makes the
shop's answer decision more precise, on the shop's dev questions only (cross-validated within dev).
"""

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from knowledge import rerank
from knowledge.calibration import RERANK_FEATURES
from knowledge.rerank import Example, RerankConfig, Reranker
from knowledge.store import KnowledgeIndex, Ranked
from ml import kb_shop

NEGATIVES = RerankConfig.negatives
DEPTHS = (10, 20)  # candidates re-ranked, compared on dev-cal
WEIGHTS: tuple[float | None, ...] = (0.5, 1.0, 2.0, 4.0, None)  # the cross-encoder's RRF weight; None: alone
TIMED = 100  # test questions re-ranked one at a time for the per-query cost


def examples(
    index: KnowledgeIndex, ranked: Sequence[Ranked], questions: Sequence[str], gold: Sequence[int]
) -> list[Example]:
    """(question, right passage, the first stage's top wrong passages) for these questions."""
    out = []
    for question, r, g in zip(questions, ranked, gold, strict=True):
        wrong = [d for d, _ in r.fused if d != g][:NEGATIVES]
        out.append(Example(question, gold_passage(index, r, g), tuple(index.passage(r, d) for d in wrong)))
    return out


def gold_passage(index: KnowledgeIndex, ranked: Ranked, doc_id: int) -> str:
    """The passage a hit on the right article quotes, or its first chunk when the first stage missed it."""
    if any(d == doc_id for d, _ in ranked.fused):
        return index.passage(ranked, doc_id)
    return index.chunks[index.doc_chunks[doc_id][0]].embedding_text()


def scores(
    reranker: Reranker, index: KnowledgeIndex, ranked: Sequence[Ranked], questions: Sequence[str], depth: int
) -> list[list[float]]:
    """The cross-encoder's score of each question's top `depth` fused articles (one batch for all)."""
    pairs = [
        (q, index.passage(r, d)) for q, r in zip(questions, ranked, strict=True) for d, _ in r.fused[:depth]
    ]
    flat = reranker.score(pairs).tolist()
    out, start = [], 0
    for r in ranked:
        n = min(depth, len(r.fused))
        out.append(flat[start : start + n])
        start += n
    return out


def reorder(ranked: Ranked, scored: Sequence[float], depth: int, weight: float | None) -> list[int]:
    """The final article order with the top `depth` re-ranked as the index does it (`rerank.merge`)."""
    first = [d for d, _ in ranked.fused]
    return rerank.merge(first[:depth], scored[:depth], weight) + first[depth:]


def grid(
    ranked: Sequence[Ranked], scored: Sequence[Sequence[float]], gold: Sequence[int], metrics: Any
) -> list[dict[str, Any]]:
    """Metrics of every (depth, weight) on these questions; `metrics(ranks, gold)` is eval_kb's."""
    rows = []
    for depth in DEPTHS:
        for weight in WEIGHTS:
            ranks = [reorder(r, s, depth, weight) for r, s in zip(ranked, scored, strict=True)]
            rows.append({"depth": depth, "weight": weight, **metrics(ranks, list(gold))})
    return rows


def per_query_ms(
    reranker: Reranker, index: KnowledgeIndex, ranked: Sequence[Ranked], questions: Sequence[str]
) -> dict[str, float]:
    """Wall time of re-ranking one question's candidates, one question at a time."""
    times = []
    for question, r in zip(questions, ranked, strict=True):
        pairs = [(question, index.passage(r, d)) for d, _ in r.fused[: reranker.depth]]
        started = time.perf_counter()
        reranker.score(pairs)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "queries": len(times),
        "depth": reranker.depth,
        "mean_ms": round(float(np.mean(times)), 1),
        "p50_ms": round(float(np.percentile(times, 50)), 1),
        "p95_ms": round(float(np.percentile(times, 95)), 1),
    }


def choose(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Best recall@5, then MRR@10; among equals the fewest epochs and candidates (the cheapest)."""
    return max(rows, key=lambda r: (r["recall@5"], r["mrr@10"], -r["epochs"], -r["depth"]))


def bank_faq(
    run: dict[str, Any],
    questions: Sequence[str],
    gold: Sequence[int],
    split: Sequence[str],
    metrics: Any,
    root: Path,
    timings: dict[str, float],
    test: bool = True,
) -> dict[str, Any]:
    """Train on dev-train, choose on dev-cal, score test once (see the module docstring); with `test`
    false, stop after the choice."""
    index, ranked = run["index"], run["ranked"]
    pick = {s: [i for i, x in enumerate(split) if x == s] for s in ("dev-train", "dev-cal", "test")}

    def part(name: str) -> tuple[list[Ranked], list[str], list[int]]:
        ids = pick[name]
        return [ranked[i] for i in ids], [questions[i] for i in ids], [gold[i] for i in ids]

    started = time.perf_counter()
    train = examples(index, *part("dev-train"))
    on = f"bank FAQ dev-train split ({len(train)} questions), first stage {index.embedder.name} hybrid"
    directories = rerank.build(train, root, rerank.RerankConfig(), trained_on=on)
    timings["rerank_train_s"] = time.perf_counter() - started
    cal_ranked, cal_questions, cal_gold = part("dev-cal")
    rows = []
    for epochs, directory in enumerate(directories, 1):
        scored = scores(Reranker(directory), index, cal_ranked, cal_questions, max(DEPTHS))
        rows += [{"epochs": epochs, **row} for row in grid(cal_ranked, scored, cal_gold, metrics)]
    best = choose(rows)
    chosen = Reranker(directories[best["epochs"] - 1])
    chosen.save_choice(best["depth"], best["weight"], f"bank FAQ dev-cal split ({len(cal_gold)} questions)")
    dev = {"directory": str(chosen.path), "train_examples": len(train), "dev_cal_rows": rows, "chosen": best}
    cal_first = [[d for d, _ in r.fused] for r in cal_ranked]
    dev["dev_cal_first_stage"] = metrics(cal_first, cal_gold)
    if not test:
        return dev
    test_ranked, test_questions, test_gold = part("test")
    started = time.perf_counter()
    scored = scores(chosen, index, test_ranked, test_questions, chosen.depth)
    timings["rerank_test_s"] = time.perf_counter() - started
    ranks = [reorder(r, s, chosen.depth, chosen.weight) for r, s in zip(test_ranked, scored, strict=True)]
    first = [[d for d, _ in r.fused] for r in test_ranked]
    return dev | {
        "test": metrics(ranks, test_gold),
        "test_first_stage": metrics(first, test_gold),
        "test_first_stage_recall_at_depth": round(
            float(np.mean([g in f[: chosen.depth] for f, g in zip(first, test_gold, strict=True)])), 3
        ),
        "cost": per_query_ms(chosen, index, test_ranked[:TIMED], test_questions[:TIMED]),
    }


def print_bank_faq(result: dict[str, Any]) -> None:
    best = result["chosen"]
    print(
        f"cross-encoder re-ranker (knowledge/rerank.py), trained on {result['train_examples']} dev-train "
        f"questions; chosen on dev-cal: {best['epochs']} epoch(s), top {best['depth']} re-ranked, weight "
        f"{best['weight'] if best['weight'] is not None else 'cross-encoder alone'} -> dev-cal recall@1 "
        f"{best['recall@1']:.3f} recall@5 {best['recall@5']:.3f} MRR@10 {best['mrr@10']:.3f}"
    )
    print(f"  dev-cal first stage (adapted hybrid): {result['dev_cal_first_stage']}")
    for row in result["dev_cal_rows"]:
        print(f"  dev-cal {row}")
    if "test" not in result:
        print("test not scored (--rerank-dev-only)")
        return
    first, test, cost = result["test_first_stage"], result["test"], result["cost"]
    print(
        f"test (read once): adapted hybrid recall@1 {first['recall@1']:.3f} recall@5 {first['recall@5']:.3f} "
        f"MRR@10 {first['mrr@10']:.3f} -> re-ranked {test['recall@1']:.3f} / {test['recall@5']:.3f} / "
        f"{test['mrr@10']:.3f} (first stage recall@{best['depth']} "
        f"{result['test_first_stage_recall_at_depth']:.3f})"
    )
    print(
        f"re-ranker cost per query ({cost['queries']} test questions one at a time, {cost['depth']} pairs): "
        f"mean {cost['mean_ms']} ms, p50 {cost['p50_ms']} ms, p95 {cost['p95_ms']} ms; "
        f"model {result['directory']}"
    )


# ----- the shop's answer decision, dev only -----

ANSWERED = 0.80  # issue 14: at least this share of the answerable questions answered


def shop_dev(kb: kb_shop.ShopKb, questions: Sequence[kb_shop.KbQuestion], path: Path) -> list[dict[str, Any]]:
    """Variants of the decision on the shop's dev questions, each cross-validated within dev: today's
    (no re-ranker); the re-ranker's score added as features with the order kept (weight 0); and with the
    order re-ranked too (the saved choice's weight): features added, today's features, its features alone.
    Every article (13) is re-ranked, so the cost is the most it can be."""
    dev = [q for q in questions if q.split == "dev"]
    shipped, added = kb_shop.DECISION_FEATURES, kb_shop.DECISION_FEATURES + RERANK_FEATURES
    rows = [_variant(kb, questions, "today's decision (no re-ranker)", None, kb.decisions(dev, shipped))]
    saved = Reranker(path)
    for weight, variants in (
        (0.0, (("re-ranker features added, order kept", added),)),
        (
            saved.weight,
            (
                ("re-ranker features added, re-ranked", added),
                ("today's features, re-ranked", shipped),
                ("re-ranker features alone, re-ranked", RERANK_FEATURES),
            ),
        ),
    ):
        kb.index.reranker = Reranker(path, depth=len(kb.slugs), weight=weight)
        decisions = kb.decisions(dev, added)  # one ranking pass; each variant takes its columns
        for name, names in variants:
            rows.append(_variant(kb, questions, name, weight, _columns(decisions, names)))
    kb.index.reranker = None
    return rows


def _columns(decisions: kb_shop.Decisions, names: Sequence[str]) -> kb_shop.Decisions:
    keep = [decisions.names.index(n) for n in names]
    return kb_shop.Decisions(
        tuple(names),
        decisions.x[:, keep],
        decisions.labels,
        decisions.question,
        decisions.answerable,
        decisions.ids,
    )


def _variant(
    kb: kb_shop.ShopKb,
    questions: Sequence[kb_shop.KbQuestion],
    name: str,
    weight: float | None,
    decisions: kb_shop.Decisions,
) -> dict[str, Any]:
    cv = kb.cross_validate(questions, kb_shop.WILSON_Z, names=decisions.names, examples=decisions)
    at = [_at_answered(decisions, partition) for partition in (1, 2, 3)]
    top1 = float(decisions.right[decisions.answerable].mean())
    return {
        "variant": name,
        "weight": weight,
        "features": list(decisions.names),
        "dev_recall_at_1": round(top1, 3),
        **{f"cv_{k}": round(float(np.mean([r[k] for r in cv])), 3) for k in kb_shop.CV_FIGURES},
        f"cv_precision_at_{ANSWERED:.0%}_answered": round(float(np.mean(at)), 3),
    }


def _at_answered(decisions: kb_shop.Decisions, partition: int) -> float:
    """Precision of the out-of-fold decision (5 folds by byte `partition` of the id's SHA-256) at the
    threshold that answers ANSWERED of the answerable questions."""
    fold = np.array([hashlib.sha256(i.encode()).digest()[partition] % kb_shop.FOLDS for i in decisions.ids])
    oof = np.zeros(len(decisions.ids))
    for held in range(kb_shop.FOLDS):
        fitted = kb_shop.fit(decisions.take(fold != held), "cross-validation")
        inside = fold == held
        oof[inside] = [fitted.confidence(decisions.x[row]) for row in decisions.top[inside]]
    threshold = np.quantile(oof[decisions.answerable], 1 - ANSWERED, method="lower")
    answered = oof >= threshold
    return float(decisions.right[answered].mean())
