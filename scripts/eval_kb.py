"""Evaluate knowledge-base retrieval on the public bank FAQ. Run: python -m scripts.eval_kb (make eval-kb).

1. A fresh temporary SQLite database is migrated, and the FAQ's 1,202 distinct answers are imported as
   published articles through the admins' import path (`service.parse_upload` of a JSON file, then
   `service.import_articles`). Each article's title is its answer's first sentence (cut at 80 characters), its
   tags the FAQ class; the questions are never stored anywhere.
2. The index is built from the database (`KnowledgeIndex.rebuild`), as the backend does.
3. Every question is searched among all 1,202 articles: recall@1, recall@5 and MRR@10 of the dense, BM25 and
   hybrid (RRF) article rankings.
4. The questions are split by answer (SHA-256 of the answer text, so no answer is on both sides): the *dev*
   half fits the confidence calibration and its threshold, the *test* half is what the table reports, along
   with all questions for comparison with the dense baseline measured on all of them.

Writes var/eval/kb_bank_faq.json; `--save-calibration` also writes knowledge/calibration.json (what the
backend loads).
"""

import argparse
import asyncio
import csv
import hashlib
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from alembic import command
from alembic.config import Config

from backend.config import to_async_url, to_sync_url
from backend.database import make_engine, make_sessionmaker
from backend.kb import service
from backend.kb.indexing import document
from knowledge import calibration
from knowledge.calibration import Calibrator
from knowledge.embedder import get_embedder
from knowledge.fusion import LEXICAL_WEIGHT, RRF_K, rrf
from knowledge.store import KnowledgeIndex, Ranked
from scripts.paths import ROOT, SHARED_DATA, VAR

FAQ = SHARED_DATA / "bank_faq" / "bank_faqs.csv"
OUT = VAR / "eval" / "kb_bank_faq.json"
CALIBRATION_TOP = 10  # results per question used as calibration examples
MODES = ("dense", "bm25", "hybrid")
SWEEP_K = (10, 30, 60, 100)
SWEEP_WEIGHT = (0.25, 0.5, 0.75, 1.0)


def read_faq(path: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(answer, class) in first-seen order, and (question, answer) for every row."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [
            (r["Question"].strip(), r["Answer"].strip(), r["Class"].strip()) for r in csv.DictReader(handle)
        ]
    answers = list(dict.fromkeys((a, c) for _, a, c in rows))
    seen: dict[str, str] = {}
    for answer, cls in answers:
        seen.setdefault(answer, cls)
    return list(seen.items()), [(q, a) for q, a, _ in rows]


def title_of(answer: str) -> str:
    first = re.split(r"(?<=[.!?])\s", answer, maxsplit=1)[0]
    return first if len(first) <= 80 else first[:80].rsplit(" ", 1)[0] + "…"


def import_payload(answers: list[tuple[str, str]]) -> bytes:
    articles = [
        {"slug": f"bank-faq-{n:04d}", "title": title_of(a), "body": a, "tags": [c], "status": "published"}
        for n, (a, c) in enumerate(answers, 1)
    ]
    return json.dumps({"articles": articles}).encode()


def migrate(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = to_sync_url(url)
    command.upgrade(config, "heads")


async def load_articles(url: str, payload: bytes) -> tuple[list[Any], dict[str, int]]:
    """Import through the admin path; returns the stored articles' documents and slug -> id."""
    engine = make_engine(to_async_url(url))
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session:
            items = service.parse_upload("bank_faq.json", payload, default_status="draft")
            result = await service.import_articles(session, items, "eval")
            articles = await service.published_by_ids(session, result.changed_ids)
    finally:
        await engine.dispose()
    return [document(a) for a in articles.values()], {a.slug: a.id for a in articles.values()}


def split_of(answer: str) -> str:
    return "dev" if hashlib.sha256(answer.encode()).digest()[0] % 2 == 0 else "test"


def rankings(ranked: Ranked) -> dict[str, list[int]]:
    return {
        "dense": [d for d, _, _ in ranked.dense],
        "bm25": [d for d, _, _ in ranked.lexical],
        "hybrid": [d for d, _ in ranked.fused],
    }


def metrics(ranks: list[list[int]], gold: list[int]) -> dict[str, float]:
    n = len(gold)
    r1 = sum(g in r[:1] for r, g in zip(ranks, gold, strict=True)) / n
    r5 = sum(g in r[:5] for r, g in zip(ranks, gold, strict=True)) / n
    mrr = sum(1 / (r[:10].index(g) + 1) for r, g in zip(ranks, gold, strict=True) if g in r[:10]) / n
    return {"recall@1": round(r1, 3), "recall@5": round(r5, 3), "mrr@10": round(mrr, 3)}


def examples(index: KnowledgeIndex, ranked: list[Ranked], gold: list[int]) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for r, g in zip(ranked, gold, strict=True):
        for position in range(min(CALIBRATION_TOP, len(r.fused))):
            rows.append(index.features(r, position))
            labels.append(1.0 if r.fused[position][0] == g else 0.0)
    return np.array(rows), np.array(labels)


def top1(
    index: KnowledgeIndex, ranked: list[Ranked], gold: list[int], cal: Calibrator
) -> tuple[np.ndarray, np.ndarray]:
    conf = np.array([cal.confidence(index.features(r, 0)) if r.fused else 0.0 for r in ranked])
    right = np.array(
        [1.0 if r.fused and r.fused[0][0] == g else 0.0 for r, g in zip(ranked, gold, strict=True)]
    )
    return conf, right


def calibrate(
    index: KnowledgeIndex, ranked: list[Ranked], gold: list[int], split: list[str]
) -> dict[str, Any]:
    pick = {s: [i for i, x in enumerate(split) if x == s] for s in ("dev", "test")}
    sub = {s: ([ranked[i] for i in ids], [gold[i] for i in ids]) for s, ids in pick.items()}
    x_dev, y_dev = examples(index, *sub["dev"])
    fitted = calibration.fit(x_dev, y_dev, fitted_on=f"bank FAQ dev split ({len(pick['dev'])} questions)")
    conf_dev, right_dev = top1(index, *sub["dev"], fitted)
    threshold = calibration.choose_threshold(conf_dev, right_dev)
    x_test, y_test = examples(index, *sub["test"])
    all_test = np.array([fitted.confidence(row) for row in x_test])
    conf_test, right_test = top1(index, *sub["test"], fitted)
    accepted = conf_test >= threshold
    report = {
        "threshold": round(threshold, 4),
        "target_precision": calibration.TARGET_PRECISION,
        "test_all_results": calibration.reliability(all_test, y_test),
        "test_top1": calibration.reliability(conf_test, right_test),
        "test_top1_accuracy": float(right_test.mean()),
        "test_answerable_share": float(accepted.mean()),
        "test_answerable_precision": float(right_test[accepted].mean()) if accepted.any() else 0.0,
        "dev_answerable_share": float((conf_dev >= threshold).mean()),
    }
    final = calibration.with_threshold(fitted, threshold, {k: round(v, 4) for k, v in _flat(report).items()})
    return {"calibrator": final, "report": report}


def _flat(report: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in report.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": float(v) for k, v in value.items()})
        else:
            out[key] = float(value)
    return out


def sweep(ranked: list[Ranked], gold: list[int], split: list[str]) -> list[dict[str, float]]:
    """RRF constant and BM25 weight on the dev split only: how the shipped constants were chosen."""
    dev = [i for i, s in enumerate(split) if s == "dev"]
    rows = []
    for k in SWEEP_K:
        for weight in SWEEP_WEIGHT:
            fused = [
                [
                    d
                    for d, _ in rrf(
                        [rankings(ranked[i])["dense"], rankings(ranked[i])["bm25"]], k, (1.0, weight)
                    )
                ]
                for i in dev
            ]
            rows.append({"k": k, "bm25_weight": weight, **metrics(fused, [gold[i] for i in dev])})
    return rows


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [f"{'split':<16}{'mode':<8}{'recall@1':>10}{'recall@5':>10}{'MRR@10':>9}"]
    for split, modes in results.items():
        for mode, m in modes.items():
            lines.append(
                f"{split:<16}{mode:<8}{m['recall@1']:>10.3f}{m['recall@5']:>10.3f}{m['mrr@10']:>9.3f}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--save-calibration", action="store_true", help="write knowledge/calibration.json")
    args = parser.parse_args()
    if not FAQ.is_file():
        raise SystemExit(f"bank FAQ not found at {FAQ}; set SUPPORTDESK_SHARED_DATA")
    answers, questions = read_faq(FAQ)
    timings: dict[str, float] = {}
    index, id_of_answer = build(answers, timings)
    started = time.perf_counter()
    ranked = index.rank([q for q, _ in questions])
    timings["search_all_s"] = time.perf_counter() - started
    gold = [id_of_answer[a] for _, a in questions]
    split = [split_of(a) for _, a in questions]
    results = evaluate(ranked, gold, split)
    fitted = calibrate(index, ranked, gold, split)
    grid = sweep(ranked, gold, split)
    best = max(grid, key=lambda r: (r["mrr@10"], r["recall@5"]))
    print(f"RRF on the dev split: shipped k={RRF_K}, BM25 weight {LEXICAL_WEIGHT}; best there {best}")
    sizes = {"articles": len(index.doc_versions), "chunks": len(index.chunks), "questions": len(questions)}
    print(
        f"Bank FAQ: {sizes['articles']} articles ({sizes['chunks']} chunks), {sizes['questions']} questions"
    )
    print(table(results))
    print(json.dumps(fitted["report"], indent=1))
    write(results, fitted, sizes, split, grid, timings)
    if args.save_calibration:
        fitted["calibrator"].save(calibration.DEFAULT_PATH)
        print(f"calibration written to {calibration.DEFAULT_PATH}")


def build(answers: list[tuple[str, str]], timings: dict[str, float]) -> tuple[KnowledgeIndex, dict[str, int]]:
    """Import into a fresh temporary database, then index what it stored; returns answer -> article id."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'eval.db'}"
        started = time.perf_counter()
        migrate(url)
        documents, ids = asyncio.run(load_articles(url, import_payload(answers)))
        timings["import_s"] = time.perf_counter() - started
    # Rankings do not depend on the calibration: a neutral one serves until the fitted one exists.
    index = KnowledgeIndex(get_embedder(), Calibrator((0.0,) * 5, 0.0, 0.5, fitted_on="none"))
    started = time.perf_counter()
    index.rebuild(documents)
    timings["index_build_s"] = time.perf_counter() - started
    return index, {a: ids[f"bank-faq-{n:04d}"] for n, (a, _) in enumerate(answers, 1)}


def evaluate(
    ranked: list[Ranked], gold: list[int], split: list[str]
) -> dict[str, dict[str, dict[str, float]]]:
    per_mode = [rankings(r) for r in ranked]
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, keep in (("test (reported)", "test"), ("dev", "dev"), ("all questions", None)):
        ids = [i for i, s in enumerate(split) if keep is None or s == keep]
        results[name] = {m: metrics([per_mode[i][m] for i in ids], [gold[i] for i in ids]) for m in MODES}
    return results


def write(
    results: Any,
    fitted: dict[str, Any],
    sizes: dict[str, int],
    split: list[str],
    grid: list[dict[str, float]],
    timings: dict[str, float],
) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    calibrator = fitted["calibrator"]
    payload = {
        "data": str(FAQ),
        **sizes,
        "split": {
            "rule": "sha256(answer)[0] even -> dev, odd -> test",
            "dev": split.count("dev"),
            "test": split.count("test"),
        },
        "results": results,
        "calibration": fitted["report"],
        "calibrator": {
            "coef": calibrator.coef,
            "intercept": calibrator.intercept,
            "features": calibrator.features,
        },
        "rrf": {"k": RRF_K, "bm25_weight": LEXICAL_WEIGHT, "dev_sweep": grid},
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
    }
    OUT.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"written {OUT}")


if __name__ == "__main__":
    main()
