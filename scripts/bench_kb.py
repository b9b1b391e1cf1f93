"""Benchmark knowledge search. Run: python -m scripts.bench_kb [--sizes 10000,100000] (part of make bench).

1. Dense index alone, at each size: synthetic unit vectors (384 dims, 2,000 Gaussian clusters, so an
   approximate index faces neighbours that really are near), the index kind the size rule picks
   (knowledge/vectors.py), build time, single-query latency p50/p95 for the 50 candidates search takes, and
   recall@10 against exact search on 200 queries (noisy copies of stored vectors).
2. The whole knowledge index at 100k chunks (20,000 synthetic five-section articles, synthetic vectors from
   a hashing encoder so only index work is timed): one article update (`upsert`: re-chunk, swap vectors,
   rebuild BM25 from cached tokens), the same plus saving to disk, against a full rebuild; and hybrid search
   latency. The real encoder's cost is measured apart (one query, one five-chunk article) and used to
   extrapolate a full re-embedding.

Writes var/eval/bench_kb.json and prints a table.
"""

import argparse
import hashlib
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.calibration import Calibrator
from knowledge.embedder import get_embedder
from knowledge.store import Document, KnowledgeIndex
from knowledge.vectors import VectorIndex, choose_kind
from scripts.paths import VAR

DIM = 384
CLUSTERS = 2000
QUERIES = 200
CANDIDATES = 50
OUT = VAR / "eval" / "bench_kb.json"


def clustered(n: int, seed: int) -> np.ndarray:
    """Unit vectors around random centres, made block by block to keep peak memory near the result's size."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(CLUSTERS, DIM)).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        block = centres[rng.integers(0, CLUSTERS, stop - start)] + rng.normal(
            scale=0.6, size=(stop - start, DIM)
        ).astype(np.float32)
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def noisy_queries(vectors: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picked = vectors[rng.choice(len(vectors), QUERIES, replace=False)]
    noisy = picked + rng.normal(scale=0.03, size=picked.shape).astype(np.float32)
    return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(vectors), 200_000):
        scores = queries @ vectors[start : start + 200_000].T
        ids = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
        all_scores = np.hstack([best_scores, scores])
        all_ids = np.hstack([best_ids, ids])
        top = np.argsort(-all_scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(all_scores, top, 1)
        best_ids = np.take_along_axis(all_ids, top, 1)
    return best_ids


def percentiles(samples: list[float]) -> tuple[float, float]:
    ms = np.array(samples) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def bench_vectors(n: int) -> dict[str, Any]:
    vectors = clustered(n, seed=n)
    ids = np.arange(n, dtype=np.int64)
    queries = noisy_queries(vectors, seed=1)
    started = time.perf_counter()
    index = VectorIndex.build(vectors, ids)
    build_s = time.perf_counter() - started
    times = []
    for query in queries:
        t = time.perf_counter()
        index.search(query[None, :], CANDIDATES)
        times.append(time.perf_counter() - t)
    found = index.search(queries, 10)[1]
    truth = exact_top(vectors, queries, 10)
    recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
    p50, p95 = percentiles(times)
    row = {
        "chunks": n,
        "kind": index.kind,
        "build_s": build_s,
        "p50_ms": p50,
        "p95_ms": p95,
        "recall@10": recall,
    }
    print(
        f"  {n:>9,} vectors: {index.kind}, built in {build_s:.1f} s, p50 {p50:.2f} ms, recall@10 {recall:.3f}"
    )
    return row


class HashingEmbedder:
    """Deterministic unit vectors from a text's hash: stands in for the model so only index work is timed."""

    name = "bench/hashing"
    dim = DIM

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            out[i] = np.random.default_rng(seed).standard_normal(DIM, dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def synthetic_articles(count: int, sections: int = 5) -> list[Document]:
    rng = random.Random(7)
    vocabulary = [f"w{i}" for i in range(20_000)]
    weights = [1 / (i + 1) for i in range(len(vocabulary))]  # Zipf-like, as words in prose
    docs = []
    for doc_id in range(1, count + 1):
        parts = []
        for s in range(sections):
            words = rng.choices(vocabulary, weights, k=90)
            parts.append(f"## Section {s}\n" + " ".join(words) + ".")
        docs.append(Document(doc_id, 1, f"Article {doc_id}", "\n\n".join(parts)))
    return docs


def timed(fn: Any, *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def bench_updates(articles: int) -> dict[str, Any]:
    docs = synthetic_articles(articles)
    calibrator = Calibrator.load()
    with tempfile.TemporaryDirectory() as tmp:
        index = KnowledgeIndex(HashingEmbedder(), calibrator, directory=Path(tmp))
        rebuild_s = timed(index.rebuild, docs)
        chunks = len(index.chunks)
        save_s = timed(index.save)
        target = docs[articles // 2]
        edited = Document(target.id, 2, target.title, target.body.replace("w1 ", "w2 "))
        update_s = timed(index.upsert, [edited])
        again = Document(target.id, 3, target.title, target.body)
        update_save_s = timed(lambda: (index.upsert([again]), index.save()))
        remove_s = timed(index.remove, [docs[1].id])
        times = []
        for q in range(QUERIES):
            t = time.perf_counter()
            index.search(f"w{q} w{q + 7} w{q * 3}", 5)
            times.append(time.perf_counter() - t)
        p50, p95 = percentiles(times)
        kind = index.vectors.kind
    row = {
        "articles": articles, "chunks": chunks, "kind": kind, "full_rebuild_s": rebuild_s, "save_s": save_s,
        "update_one_s": update_s, "update_one_and_save_s": update_save_s, "remove_one_s": remove_s,
        "hybrid_search_p50_ms": p50, "hybrid_search_p95_ms": p95,
    }  # fmt: skip
    print(f"  {chunks:,} chunks: rebuild {rebuild_s:.1f} s, update {update_s:.2f} s, search p50 {p50:.1f} ms")
    return row


def bench_encoder() -> dict[str, float]:
    embedder = get_embedder()
    embedder.load()
    embedder.encode(["warm up"])
    query_times = []
    for q in ("how long does shipping take", "can I get a refund", "my payment failed again"):
        query_times.append(timed(embedder.encode, [q]))
    chunk = " ".join(["Standard shipping takes three to five business days in the contiguous US."] * 9)[:780]
    article_s = timed(embedder.encode, [chunk] * 5)
    return {"query_s": float(np.median(query_times)), "five_chunk_article_s": article_s}


def table(vectors: list[dict[str, Any]], update: dict[str, Any], encoder: dict[str, float]) -> str:
    lines = [
        f"{'chunks':>10} {'index':<6} {'build s':>9} {'p50 ms':>8} {'p95 ms':>8} {'recall@10':>10}",
        *(
            f"{r['chunks']:>10,} {r['kind']:<6} {r['build_s']:>9.1f} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} "
            f"{r['recall@10']:>10.3f}"
            for r in vectors
        ),
        "",
        f"knowledge index at {update['chunks']:,} chunks ({update['kind']}), index work only:",
        f"  full rebuild (chunk, tokenize, build FAISS + BM25)  {update['full_rebuild_s']:8.1f} s",
        f"  update one article (5 chunks)                       {update['update_one_s']:8.2f} s",
        f"  update one article and save to disk                 {update['update_one_and_save_s']:8.2f} s",
        f"  remove one article                                  {update['remove_one_s']:8.2f} s",
        f"  save to disk                                        {update['save_s']:8.2f} s",
        f"  hybrid search p50 / p95 (without query encoding)    {update['hybrid_search_p50_ms']:6.1f} / "
        f"{update['hybrid_search_p95_ms']:.1f} ms",
        f"real encoder: one query {encoder['query_s'] * 1000:.0f} ms, one 5-chunk article "
        f"{encoder['five_chunk_article_s']:.2f} s; re-embedding {update['chunks']:,} chunks would add "
        f"~{encoder['five_chunk_article_s'] / 5 * update['chunks'] / 60:.0f} min to a full rebuild",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="dense index sizes, comma-separated")
    parser.add_argument(
        "--articles", type=int, default=20_000, help="five-chunk articles for the update test"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print("dense index (synthetic clustered vectors):")
    vectors = [bench_vectors(n) for n in sizes]
    print("knowledge index updates:")
    update = bench_updates(args.articles)
    encoder = bench_encoder()
    print(table(vectors, update, encoder))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    rule = {str(n): choose_kind(n) for n in sizes}
    OUT.write_text(
        json.dumps({"vectors": vectors, "update": update, "encoder": encoder, "rule": rule}, indent=1)
    )
    print(f"written {OUT}")


if __name__ == "__main__":
    main()
