"""Benchmark knowledge search. Run: python -m scripts.bench_kb [--sizes 10000,100000] (part of make bench).

1. Dense index alone, at each size: synthetic unit vectors (384 dims, 2,000 Gaussian clusters, so an
   approximate index faces neighbours that really are near), the index kind the size rule picks
   (knowledge/vectors.py), build time, single-query latency p50/p95 for the 50 candidates search takes, and
   recall@10 against exact search on 200 queries (noisy copies of stored vectors).
2. The whole knowledge index at 100k chunks (20,000 synthetic five-section articles, synthetic vectors from
   a hashing encoder so only index work is timed): one article update (`upsert`: re-chunk, swap vectors,
   rebuild BM25 from cached tokens), the same plus saving to disk, against a full rebuild; and hybrid search
   latency. The real encoder's cost is measured apart (one query, one five-chunk article) and used to
   extrapolate a full re-embedding; one article update at this size is also timed with the real encoder.
3. Real question embeddings: real texts from ../shared/data (bank-FAQ questions and answers, Banking77
   training questions, airline customer tweets) encoded with the product's encoder as the stored vectors,
   Banking77 test questions as queries; each index kind the product uses (flat, HNSW, IVF with the parameters
   knowledge/vectors.py would give at this size, forced where the size rule would pick flat), recall@10
   against exact search and single-query latency. The embeddings are cached under
   ~/.cache/supportdesk/bench-kb/ by a hash of the texts and the encoder's files, so a rerun does not encode.
4. Update vs rebuild with real encoding, measured: a knowledge index of the bank FAQ (five Q&A sections per
   article) rebuilt with the real encoder against one article updated with it, encoder time shown apart.

Writes var/eval/bench_kb.json and prints a table.
"""

import argparse
import csv
import hashlib
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from knowledge.calibration import Calibrator
from knowledge.embedder import Embedder, directory_digest, get_embedder
from knowledge.store import Document, KnowledgeIndex
from knowledge.vectors import (
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_M,
    VectorIndex,
    choose_kind,
    ivf_probes,
)
from scripts.paths import ROOT, VAR

DIM = 384
CLUSTERS = 2000
QUERIES = 200
CANDIDATES = 50
OUT = VAR / "eval" / "bench_kb.json"
DATA = ROOT.parent / "shared" / "data"
CACHE = Path.home() / ".cache" / "supportdesk" / "bench-kb"
TIMED_QUERIES = 500  # single-query searches timed per index kind on the real embeddings


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


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    """Mean share of each query's exact top k that the approximate top k also holds (-1 = no result)."""
    shares = [
        len((set(f[:k].tolist()) - {-1}) & set(t[:k].tolist())) / k for f, t in zip(found, truth, strict=True)
    ]
    return float(np.mean(shares)) if shares else 0.0


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
    recall = recall_at_k(found, truth, 10)
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
        index.warm_sentences()  # as the backend does at start: searches must not time the first encoding
        searches = time_searches(index)
        kind = index.vectors.kind
        # The same update with the real encoder in place of the hashing one (vectors of two encoders mixed in
        # one index: only the time means anything here).
        real = get_embedder()
        real.load()
        real.encode(["warm up"])
        index.embedder = embedder = TimedEmbedder(real)
        edited_again = Document(target.id, 4, target.title, target.body.replace("w2 ", "w3 "))
        real_update_s = timed(index.upsert, [edited_again])
        real_update_encode_s = embedder.seconds
    row = {
        "articles": articles, "chunks": chunks, "kind": kind, "full_rebuild_s": rebuild_s, "save_s": save_s,
        "update_one_s": update_s, "update_one_and_save_s": update_save_s, "remove_one_s": remove_s,
        "update_one_real_encoder_s": real_update_s, "update_one_real_encoder_encode_s": real_update_encode_s,
        **searches,
    }  # fmt: skip
    print(f"  {chunks:,} chunks: rebuild {rebuild_s:.1f} s, update {update_s:.2f} s, search p50 "
          f"{searches['first_stage_p50_ms']:.1f} ms before re-ranking")  # fmt: skip
    return row


def time_searches(index: KnowledgeIndex) -> dict[str, float]:
    """Single searches, wall and this thread's CPU time: the first stage alone (dense + BM25 fused, what
    issue 21 bounds) and with the sentence re-rank on top (the product's default). CPU time is the figure
    a loaded machine does not inflate; wall time includes waiting for a core."""
    out: dict[str, float] = {}
    rerank = index.sentence_rerank
    for name, on in (("first_stage", False), ("with_sentence_rerank", True)):
        index.sentence_rerank = on
        wall, cpu = [], []
        for q in range(QUERIES):
            started, started_cpu = time.perf_counter(), time.thread_time()
            index.search(f"w{q} w{q + 7} w{q * 3}", 5)
            wall.append(time.perf_counter() - started)
            cpu.append(time.thread_time() - started_cpu)
        out[f"{name}_p50_ms"], out[f"{name}_p95_ms"] = percentiles(wall)
        out[f"{name}_cpu_p50_ms"], out[f"{name}_cpu_p95_ms"] = percentiles(cpu)
    index.sentence_rerank = rerank
    return out


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


# ----- real texts, real encoder -----


def read_column(path: Path, column: str) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row[column].strip() for row in csv.DictReader(handle) if row[column].strip()]


def real_corpus() -> list[tuple[str, str]]:
    """(source, text) for the stored texts: each text once (first source kept), in file order."""
    sources = [
        ("bank FAQ questions", DATA / "bank_faq" / "bank_faqs.csv", "Question"),
        ("bank FAQ answers", DATA / "bank_faq" / "bank_faqs.csv", "Answer"),
        ("Banking77 train questions", DATA / "banking77" / "train.csv", "text"),
        ("airline customer tweets (train split)", DATA / "airline_sentiment" / "train.csv", "text"),
    ]
    seen: set[str] = set()
    out = []
    for label, path, column in sources:
        for text in read_column(path, column):
            if text not in seen:
                seen.add(text)
                out.append((label, text))
    return out


def encoder_key(embedder: Embedder) -> str:
    path = getattr(embedder, "path", None)
    return f"{embedder.name}:{directory_digest(path) if path else ''}"


def cached_encode(embedder: Embedder, texts: list[str], encoder: str) -> tuple[np.ndarray, float, bool]:
    """(vectors, seconds the encoding took when it was done, whether read from the cache)."""
    digest = hashlib.sha256(encoder.encode() + b"\0")
    for text in texts:
        digest.update(text.encode() + b"\0")
    key = digest.hexdigest()[:32]
    vectors_path, meta_path = CACHE / f"{key}.npy", CACHE / f"{key}.json"
    if vectors_path.is_file() and meta_path.is_file():
        vectors = np.load(vectors_path)
        if vectors.shape == (len(texts), embedder.dim):
            return vectors, float(json.loads(meta_path.read_text())["encode_s"]), True
    started = time.perf_counter()
    vectors = embedder.encode(texts)
    seconds = time.perf_counter() - started
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(vectors_path, vectors)
    meta_path.write_text(json.dumps({"encoder": encoder, "texts": len(texts), "encode_s": seconds}))
    return vectors, seconds, False


def bench_real_recall(limit: int) -> dict[str, Any]:
    embedder = get_embedder()
    encoder = encoder_key(embedder)
    corpus = real_corpus()
    corpus = corpus[:limit] if limit else corpus
    texts = [text for _, text in corpus]
    counts: dict[str, int] = {}
    for label, _ in corpus:
        counts[label] = counts.get(label, 0) + 1
    stored = set(texts)
    all_queries = list(dict.fromkeys(read_column(DATA / "banking77" / "test.csv", "text")))
    queries_text = [q for q in all_queries if q not in stored]
    vectors, encode_s, cached = cached_encode(embedder, texts, encoder)
    queries, query_encode_s, _ = cached_encode(embedder, queries_text, encoder)
    n = len(texts)
    ids = np.arange(n, dtype=np.int64)
    truth = exact_top(vectors, queries, 10)
    rows = []
    for kind in ("flat", "hnsw", "ivf"):
        started = time.perf_counter()
        index = VectorIndex.build(vectors, ids, kind=kind)
        build_s = time.perf_counter() - started
        params = {"flat": "exact"}
        params["hnsw"] = f"M={HNSW_M}, efConstruction={HNSW_EF_CONSTRUCTION}, efSearch={HNSW_EF_SEARCH}"
        if kind == "ivf":
            nlist = faiss.extract_index_ivf(index.index).nlist
            params["ivf"] = f"nlist={nlist}, nprobe={ivf_probes(nlist)}"
        times = []
        for query in queries[:TIMED_QUERIES]:
            t = time.perf_counter()
            index.search(query[None, :], CANDIDATES)
            times.append(time.perf_counter() - t)
        p50, p95 = percentiles(times)
        recall = recall_at_k(index.search(queries, 10)[1], truth, 10)
        rows.append(
            {"kind": kind, "params": params[kind], "forced": kind != choose_kind(n), "build_s": build_s,
             "p50_ms": p50, "p95_ms": p95, "recall@10": recall}
        )  # fmt: skip
        print(f"  {kind}: recall@10 {recall:.3f}, p50 {p50:.2f} ms ({params[kind]})")
    return {
        "encoder": embedder.name, "stored": n, "sources": counts, "limit": limit,
        "queries": len(queries_text),
        "queries_dropped_as_stored": len(all_queries) - len(queries_text), "encode_s": encode_s,
        "query_encode_s": query_encode_s, "from_cache": cached, "rule_kind": choose_kind(n), "rows": rows,
    }  # fmt: skip


class TimedEmbedder:
    """Passes through to an encoder and adds up the time spent in it."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.seconds = 0.0

    def encode(self, texts: list[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self.inner.encode(texts)
        finally:
            self.seconds += time.perf_counter() - started


def faq_articles(per_article: int = 5) -> list[Document]:
    """The bank FAQ as articles: per class, in file order, `per_article` Q&A pairs as `## question`
    sections."""
    with (DATA / "bank_faq" / "bank_faqs.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_class: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_class.setdefault(row["Class"], []).append(row)
    docs = []
    for name, items in by_class.items():
        for start in range(0, len(items), per_article):
            part = items[start : start + per_article]
            body = "\n\n".join(f"## {r['Question'].strip()}\n{r['Answer'].strip()}" for r in part)
            docs.append(Document(len(docs) + 1, 1, f"{name} FAQ {start // per_article + 1}", body))
    return docs


def bench_real_updates() -> dict[str, Any]:
    """Rebuild of the bank-FAQ knowledge index and one article update, both with the real encoder."""
    real = get_embedder()
    real.load()
    real.encode(["warm up"])
    docs = faq_articles()
    calibrator = Calibrator.load()
    with tempfile.TemporaryDirectory() as tmp:
        embedder = TimedEmbedder(real)
        index = KnowledgeIndex(embedder, calibrator, directory=Path(tmp))
        rebuild_s = timed(index.rebuild, docs)
        rebuild_encode_s, embedder.seconds = embedder.seconds, 0.0
        chunks = len(index.chunks)
        # Sentence vectors for the re-rank: the backend encodes them in a background thread after a rebuild.
        warm_s = timed(index.warm_sentences) if index.sentence_rerank else 0.0
        embedder.seconds = 0.0
        target = docs[len(docs) // 2]
        target_chunks = len(index.doc_chunks[target.id])
        edited = Document(target.id, 2, target.title, target.body.replace("?", " ?", 1) + "\n\nUpdated.")
        update_s = timed(index.upsert, [edited])
        update_encode_s, embedder.seconds = embedder.seconds, 0.0
        again = Document(target.id, 3, target.title, target.body)
        update_save_s = timed(lambda: (index.upsert([again]), index.save()))
        questions = read_column(DATA / "banking77" / "test.csv", "text")[::31][:100]
        index.search("warm up", 5)
        times = []
        for q in questions:
            t = time.perf_counter()
            index.search(q, 5)
            times.append(time.perf_counter() - t)
        p50, p95 = percentiles(times)
        kind = index.vectors.kind
    row = {
        "articles": len(docs), "chunks": chunks, "kind": kind, "sentence_rerank": index.sentence_rerank,
        "full_rebuild_s": rebuild_s, "full_rebuild_encode_s": rebuild_encode_s,
        "sentence_vectors_after_rebuild_s": warm_s, "update_one_s": update_s,
        "update_one_encode_s": update_encode_s, "update_one_chunks": target_chunks,
        "update_one_and_save_s": update_save_s, "search_with_encoding_p50_ms": p50,
        "search_with_encoding_p95_ms": p95, "search_queries": len(questions),
    }  # fmt: skip
    print(
        f"  {chunks:,} real chunks: rebuild {rebuild_s:.1f} s (encoding {rebuild_encode_s:.1f} s), "
        f"update {update_s:.2f} s"
    )
    return row


def table(
    vectors: list[dict[str, Any]],
    update: dict[str, Any],
    encoder: dict[str, float],
    real: dict[str, Any] | None,
    real_update: dict[str, Any] | None,
) -> str:
    lines = [
        "dense index alone, synthetic clustered vectors (queries: noisy copies of stored vectors):",
        f"{'chunks':>10} {'index':<6} {'build s':>9} {'p50 ms':>8} {'p95 ms':>8} {'recall@10':>10}",
        *(
            f"{r['chunks']:>10,} {r['kind']:<6} {r['build_s']:>9.1f} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} "
            f"{r['recall@10']:>10.3f}"
            for r in vectors
        ),
    ]
    if real:
        sources = ", ".join(f"{label} {count:,}" for label, count in real["sources"].items())
        how = "read from the cache, encoded" if real["from_cache"] else "encoded"
        lines += [
            "",
            f"dense index alone, real embeddings ({real['encoder']}): {real['stored']:,} stored texts "
            f"({sources}; each text once), {how} in {real['encode_s']:.0f} s on one thread; "
            f"queries: {real['queries']:,} "
            f"Banking77 test questions ({real['queries_dropped_as_stored']} more left out: the same text is "
            f"stored). The size rule picks {real['rule_kind']} at {real['stored']:,}; "
            + ", ".join(r["kind"] for r in real["rows"] if r["forced"])
            + " forced at this size. recall@10 against exact search; latency: one query, 50 candidates.",
            f"{'index':<6} {'parameters':<44} {'build s':>8} {'p50 ms':>8} {'p95 ms':>8} {'recall@10':>10}",
            *(
                f"{r['kind']:<6} {r['params']:<44} {r['build_s']:>8.2f} {r['p50_ms']:>8.2f} "
                f"{r['p95_ms']:>8.2f} {r['recall@10']:>10.3f}"
                for r in real["rows"]
            ),
        ]
    if real_update:
        u = real_update
        lines += [
            "",
            f"knowledge index of the bank FAQ, real encoder, encoding included (measured): {u['articles']} "
            f"articles of up to 5 Q&A sections, {u['chunks']:,} chunks ({u['kind']}), sentence re-rank "
            f"{'on' if u['sentence_rerank'] else 'off'}:",
            f"  full rebuild (chunk, encode, tokenize, build)       {u['full_rebuild_s']:8.1f} s "
            f"(encoding {u['full_rebuild_encode_s']:.1f} s)",
            "  then sentence vectors of every article (background) "
            f"{u['sentence_vectors_after_rebuild_s']:8.1f} s",
            f"  update one article ({u['update_one_chunks']} chunks)                       "
            f"{u['update_one_s']:8.2f} s (encoding {u['update_one_encode_s']:.2f} s)",
            f"  update one article and save to disk                 {u['update_one_and_save_s']:8.2f} s",
            f"  search p50 / p95, query encoding included           "
            f"{u['search_with_encoding_p50_ms']:6.1f} / {u['search_with_encoding_p95_ms']:.1f} ms "
            f"({u['search_queries']} Banking77 test questions)",
        ]
    lines += [
        "",
        f"knowledge index at {update['chunks']:,} chunks ({update['kind']}), synthetic articles, hashing "
        "encoder: index work only",
        f"  full rebuild (chunk, tokenize, build FAISS + BM25)  {update['full_rebuild_s']:8.1f} s",
        f"  update one article (5 chunks)                       {update['update_one_s']:8.2f} s",
        f"  update one article and save to disk                 {update['update_one_and_save_s']:8.2f} s",
        f"  remove one article                                  {update['remove_one_s']:8.2f} s",
        f"  save to disk                                        {update['save_s']:8.2f} s",
        *(
            f"  hybrid search {label:29s} p50 / p95 wall {update[f'{name}_p50_ms']:5.1f} / "
            f"{update[f'{name}_p95_ms']:.1f} ms, CPU {update[f'{name}_cpu_p50_ms']:.1f} / "
            f"{update[f'{name}_cpu_p95_ms']:.1f} ms"
            for name, label in (
                ("first_stage", "before re-ranking"),
                ("with_sentence_rerank", "with the sentence re-rank"),
            )
        ),
        f"  update one article, real encoder (measured)         {update['update_one_real_encoder_s']:8.2f} s "
        f"(encoding {update['update_one_real_encoder_encode_s']:.2f} s)",
        f"real encoder: one query {encoder['query_s'] * 1000:.0f} ms, one 5-chunk article "
        f"{encoder['five_chunk_article_s']:.2f} s; re-embedding {update['chunks']:,} chunks would add "
        f"~{encoder['five_chunk_article_s'] / 5 * update['chunks'] / 60:.0f} min to a full rebuild "
        "(extrapolated)",
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
    parser.add_argument("--real-limit", type=int, default=0, help="at most this many real texts (0: all)")
    parser.add_argument("--skip-real", action="store_true", help="no real-encoder sections")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print("dense index (synthetic clustered vectors):")
    vectors = [bench_vectors(n) for n in sizes]
    real = real_update = None
    if not args.skip_real:
        print("dense index (real embeddings):")
        real = bench_real_recall(args.real_limit)
        print("knowledge index with the real encoder:")
        real_update = bench_real_updates()
    print("knowledge index updates:")
    update = bench_updates(args.articles)
    encoder = bench_encoder()
    print(table(vectors, update, encoder, real, real_update))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    rule = {str(n): choose_kind(n) for n in sizes}
    results = {"vectors": vectors, "real": real, "real_update": real_update, "update": update}
    OUT.write_text(json.dumps(results | {"encoder": encoder, "rule": rule}, indent=1))
    print(f"written {OUT}")


if __name__ == "__main__":
    main()
