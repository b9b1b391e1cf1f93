"""The knowledge index: chunks of published articles, their vectors (FAISS) and BM25, kept on disk.

Files in the index directory (written atomically under an exclusive `flock`, so several backend workers can
share one directory):

- `vectors.faiss`: the FAISS index (kind by size, see knowledge/vectors.py);
- `chunks.json`: every chunk (id, article, heading path, text), the article versions and HNSW tombstones;
- `manifest.json`: written last; model name, dimension, chunk count, index kind, chunker settings, the
  indexed (article id, version) pairs and the SHA-256 of the two other files.

`open_index` loads and checks all of that; `KnowledgeIndex.plan` compares it with the source of truth (the
published article ids and versions) and says what to patch, or that a full rebuild is cheaper or necessary.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from knowledge.calibration import FEATURES, PRODUCT, RERANK_FEATURES, SENTENCE_FEATURES, Calibrator
from knowledge.chunking import Chunk, ChunkerConfig, chunk_markdown, sentences
from knowledge.embedder import Embedder
from knowledge.fusion import LEXICAL_WEIGHT, RRF_K, max_rrf, rrf
from knowledge.lexical import LexicalIndex, tokenize
from knowledge.rerank import Reranker
from knowledge.vectors import VectorIndex, choose_kind

# 2: a table longer than the chunk limit is cut between rows, each piece under its header line
# (chunking._split_table); an index saved in format 1 may hold such a table cut elsewhere: rebuilt on open.
FORMAT = 2
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
CHUNKS = "chunks.json"
CANDIDATES = 50  # chunks taken from each retriever before fusion
REBUILD_SHARE = 0.5  # when more than this share of articles changed, a rebuild is simpler than a patch
# The sentence features compare a result with the best other article among this many top results: the
# endpoint returns k + 5 = 10, and scanning every article's sentences would grow with the corpus.
SENTENCE_POOL = 10
SENTENCE_WEIGHT = 1.0  # the sentence ranking's RRF weight, as dense's: not tuned
SENTENCE_CACHE_MAX = 500_000  # sentence vectors kept per process (384 floats each: about 770 MB at most)
_SENTENCE_VECTORS: dict[tuple[str, str], np.ndarray] = {}
_SENTENCE_LOCK = threading.Lock()


class IndexUnusable(Exception):
    """The files on disk cannot be used as they are; the message says why (missing, corrupt, stale)."""


@dataclass(frozen=True)
class Document:
    """One published article as the index sees it."""

    id: int
    version: int
    title: str
    body: str


@dataclass(frozen=True)
class Hit:
    doc_id: int
    chunk_id: int
    heading_path: tuple[str, ...]
    text: str
    fused: float
    dense: float | None
    lexical: float | None
    dense_rank: int | None
    lexical_rank: int | None
    confidence: float
    features: tuple[float, ...]


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    threshold: float

    @property
    def answerable(self) -> bool:
        return bool(self.hits) and self.hits[0].confidence >= self.threshold


@dataclass
class Ranked:
    """Article rankings of one query: dense, lexical and fused, each best first, plus the evidence."""

    dense: list[tuple[int, int, float]]  # (doc id, best chunk id, cosine)
    lexical: list[tuple[int, int, float]]  # (doc id, best chunk id, BM25)
    fused: list[tuple[int, float]]  # (doc id, RRF score)
    query: np.ndarray | None = None  # the question's unit vector (for the sentence features)
    rerank: dict[int, float] | None = None  # doc id -> cross-encoder logit, for the re-ranked top articles


@dataclass
class Plan:
    upsert: list[int] = field(default_factory=list)
    remove: list[int] = field(default_factory=list)
    rebuild: bool = False
    reason: str = ""

    @property
    def empty(self) -> bool:
        return not (self.upsert or self.remove or self.rebuild)


@dataclass
class OpenReport:
    """What happened when the index was opened; the backend logs it and shows it on the status endpoint."""

    loaded: bool
    reason: str = ""
    action: str = "loaded"  # loaded, patched, rebuilt
    upserted: int = 0
    removed: int = 0


class KnowledgeIndex:
    def __init__(
        self,
        embedder: Embedder,
        calibrator: Calibrator,
        config: ChunkerConfig | None = None,
        directory: Path | None = None,
        sentence_rerank: bool | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.embedder = embedder
        self.calibrator = calibrator
        # Re-rank the top SENTENCE_POOL fused articles with a third list, by their best sentence (on the
        # shop's dev questions recall@1 0.923 -> 0.942). On by default when the calibration uses the sentence
        # features (the demo shop's decision), since it pays for the same vectors; the bank-FAQ benchmark's
        # five-feature calibration keeps the two-list ranking it was measured with.
        self.sentence_rerank = calibrator.uses_sentences if sentence_rerank is None else sentence_rerank
        # A cross-encoder that re-orders the top fused articles last (knowledge/rerank.py); None: off.
        self.reranker = reranker
        self.config = config or ChunkerConfig()
        self.directory = directory
        self.chunks: dict[int, Chunk] = {}
        self.doc_chunks: dict[int, list[int]] = {}
        self.doc_versions: dict[int, int] = {}
        self.vectors = VectorIndex.empty(embedder.dim)
        self.lexical = LexicalIndex()
        self.next_id = 1
        # Sentence vectors per article, made on first use (`sentence_vectors`) and kept in memory only: they
        # cost an encoder pass per sentence, which a rebuild at 100k chunks should not pay for every article.
        self.sentence_cache: dict[int, np.ndarray] = {}
        self.lock = threading.RLock()
        self._save_lock = threading.Lock()

    # ----- writing -----

    def upsert(self, documents: Sequence[Document]) -> int:
        """Add or replace these articles' chunks (other articles untouched). Returns how many changed."""
        todo = [d for d in documents if self.doc_versions.get(d.id) != d.version]
        if not todo:
            return 0
        chunked = {d.id: chunk_markdown(d.id, d.title, d.body, self.config) for d in todo}
        flat = [c for d in todo for c in chunked[d.id]]
        vectors = self.embedder.encode([c.embedding_text() for c in flat])  # slow part, outside the lock
        tokens = [tokenize(c.embedding_text()) for c in flat]
        sentence_vectors = {}
        if self.sentence_rerank:  # an edited article's sentences too, so its next search does not encode them
            for d in todo:
                texts = [t for c in chunked[d.id] for t in sentences(c)] or [
                    c.embedding_text() for c in chunked[d.id]
                ]
                sentence_vectors[d.id] = self._encode_sentences(texts)
        with self.lock:
            self._drop([d.id for d in todo])
            ids = np.arange(self.next_id, self.next_id + len(flat), dtype=np.int64)
            self.next_id += len(flat)
            self.vectors.add(vectors, ids)
            for chunk_id, chunk, chunk_tokens in zip(ids.tolist(), flat, tokens, strict=True):
                self.chunks[chunk_id] = chunk
                self.doc_chunks.setdefault(chunk.doc_id, []).append(chunk_id)
                self.lexical.put_tokens(chunk_id, chunk_tokens)
            for document in todo:
                self.doc_versions[document.id] = document.version
            self.sentence_cache.update(sentence_vectors)
            self.lexical.refresh()
        return len(todo)

    def remove(self, doc_ids: Sequence[int]) -> int:
        """Take these articles out at once; unknown ids are ignored. Returns how many were indexed."""
        with self.lock:
            present = [d for d in doc_ids if d in self.doc_versions]
            self._drop(present)
            self.lexical.refresh()
            return len(present)

    def rebuild(self, documents: Sequence[Document]) -> None:
        """Re-chunk and re-embed everything; the vector index kind follows the size rule."""
        flat = [c for d in documents for c in chunk_markdown(d.id, d.title, d.body, self.config)]
        vectors = self.embedder.encode([c.embedding_text() for c in flat])
        tokens = [tokenize(c.embedding_text()) for c in flat]
        ids = np.arange(self.next_id, self.next_id + len(flat), dtype=np.int64)
        index = VectorIndex.build(vectors, ids) if len(flat) else VectorIndex.empty(self.embedder.dim)
        lexical = LexicalIndex()
        for chunk_id, chunk_tokens in zip(ids.tolist(), tokens, strict=True):
            lexical.put_tokens(chunk_id, chunk_tokens)
        lexical.refresh(wait=True)
        with self.lock:
            self.next_id += len(flat)
            self.vectors, self.lexical = index, lexical
            self.chunks = dict(zip(ids.tolist(), flat, strict=True))
            self.sentence_cache = {}
            self.doc_chunks = {}
            for chunk_id, chunk in self.chunks.items():
                self.doc_chunks.setdefault(chunk.doc_id, []).append(chunk_id)
            self.doc_versions = {d.id: d.version for d in documents}

    def compact(self) -> None:
        """Rebuild the vector structure from the stored vectors (drops tombstones, follows the size rule)."""
        with self.lock:
            self.vectors = self.vectors.compact()

    def _drop(self, doc_ids: Sequence[int]) -> None:
        removed: list[int] = []
        for doc_id in doc_ids:
            removed.extend(self.doc_chunks.pop(doc_id, []))
            self.doc_versions.pop(doc_id, None)
        for chunk_id in removed:
            del self.chunks[chunk_id]
        for doc_id in doc_ids:
            self.sentence_cache.pop(doc_id, None)
        self.vectors.remove(removed)
        self.lexical.remove(removed)

    # ----- reading -----

    def rank(self, queries: Sequence[str], depth: int = CANDIDATES) -> list[Ranked]:
        """Dense, BM25 and fused article rankings for each query (one batch through the encoder)."""
        vectors = self.embedder.encode(list(queries))  # slow part, outside the lock
        with self.lock:
            return self._rank(queries, vectors, depth)

    def search(self, query: str, k: int = 5) -> SearchResult:
        vector = self.embedder.encode([query])
        with self.lock:  # rankings and hits from one state: a concurrent removal cannot slip between
            ranked = self._rank([query], vector, CANDIDATES)[0]
            hits = [self._hit(ranked, i) for i in range(min(k, len(ranked.fused)))]
        return SearchResult(hits, self.calibrator.threshold)

    def _rank(self, queries: Sequence[str], vectors: np.ndarray, depth: int) -> list[Ranked]:
        if not self.chunks:
            return [Ranked([], [], []) for _ in queries]
        scores, ids = self.vectors.search(vectors, depth)
        out = []
        for query, vector, row_scores, row_ids in zip(queries, vectors, scores, ids, strict=True):
            dense = _best_per_doc(
                ((int(i), float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i >= 0), self.chunks
            )
            lexical = _best_per_doc(self.lexical.search(query, depth), self.chunks)
            lists = [[d for d, _, _ in dense], [d for d, _, _ in lexical]]
            fused = rrf(lists, k=RRF_K, weights=(1.0, LEXICAL_WEIGHT))
            if self.sentence_rerank:
                best = {d: self._best_sentence(d, vector) for d, _ in fused[:SENTENCE_POOL]}
                by_sentence = sorted(best, key=lambda d: -best[d])  # stable: ties keep the fused order
                fused = rrf([*lists, by_sentence], k=RRF_K, weights=self._weights())
            out.append(Ranked(dense, lexical, fused, vector))
        if self.reranker is not None:
            self._cross_rerank(queries, out, self.reranker)
        return out

    def _cross_rerank(self, queries: Sequence[str], ranked: list[Ranked], reranker: Reranker) -> None:
        """Score each query's top `depth` articles with the cross-encoder (all pairs in one batch) and put
        them in the merged order; the articles below keep their place. Runs under the index lock, so the
        passages scored are the ones the hits quote."""
        tops = [r.fused[: reranker.depth] for r in ranked]
        pairs = [
            (q, self.passage(r, d)) for q, r, top in zip(queries, ranked, tops, strict=True) for d, _ in top
        ]
        scores = reranker.score(pairs).tolist()
        start = 0
        for r, top in zip(ranked, tops, strict=True):
            mine = scores[start : start + len(top)]
            start += len(top)
            fused = dict(top)
            r.rerank = {d: s for (d, _), s in zip(top, mine, strict=True)}
            order = reranker.order([d for d, _ in top], mine)
            r.fused = [(d, fused[d]) for d in order] + r.fused[len(top) :]

    def passage(self, ranked: Ranked, doc_id: int) -> str:
        """The text of the chunk a hit on this article quotes (its best dense chunk, else its BM25 one)."""
        chunk_id = next((c for d, c, _ in ranked.dense if d == doc_id), None)
        if chunk_id is None:
            chunk_id = next(c for d, c, _ in ranked.lexical if d == doc_id)
        return self.chunks[chunk_id].embedding_text()

    def features(
        self, ranked: Ranked, position: int, names: Sequence[str] | None = None
    ) -> tuple[float, ...]:
        """The calibration features (knowledge/calibration.py) of the fused result at `position`, in the
        order of `names` (default: the ones the index's calibration uses)."""
        names = tuple(names or self.calibrator.features)
        values = dict(zip(FEATURES, self._base_features(ranked, position), strict=True))
        if set(names) & set(SENTENCE_FEATURES):
            values.update(self._sentence_features(ranked, position))
        if PRODUCT in names:
            if not self.calibrator.product_weights:
                raise ValueError(f"{PRODUCT!r} needs a calibration with product_weights")
            values[PRODUCT] = float(self.calibrator.product_vector @ self.sentence_product(ranked, position))
        if set(names) & set(RERANK_FEATURES):
            values.update(_rerank_features(ranked, position))
        return tuple(values[name] for name in names)

    def sentence_product(self, ranked: Ranked, position: int) -> np.ndarray:
        """The elementwise product of the question's vector and the vector of the result's best-matching
        sentence (the one `sentence` reads): the PRODUCT feature is its dot product with the fit's weights,
        and the fit reads it whole (ml/kb_shop.py)."""
        if ranked.query is None:
            raise ValueError("the sentence product needs the ranking's query vector")
        vectors = self.sentence_vectors(ranked.fused[position][0])
        if not len(vectors):
            return np.zeros(len(ranked.query), dtype=np.float64)
        best = vectors[int(np.argmax(vectors @ ranked.query))]
        return np.asarray(ranked.query, dtype=np.float64) * best

    def sentence_vectors(self, doc_id: int) -> np.ndarray:
        """Unit vectors of the article's sentences (chunking.sentences), encoded on first use."""
        with self.lock:
            cached = self.sentence_cache.get(doc_id)
            if cached is None:
                cached = self._encode_sentences(self._sentence_texts(doc_id))
                self.sentence_cache[doc_id] = cached
            return cached

    def warm_sentences(self, stop: threading.Event | None = None) -> int:
        """Encode every article's sentences now (the backend does it in a background thread at start, so
        the first questions do not pay for it). The encoding runs outside the lock, so searches go on;
        an article changed meanwhile is left to be encoded on use, and so is the rest once `stop` is set.
        Returns how many articles were encoded."""
        with self.lock:
            todo = {d: self._sentence_texts(d) for d in self.doc_chunks if d not in self.sentence_cache}
            versions = {d: self.doc_versions.get(d) for d in todo}
        done = 0
        for doc_id, texts in todo.items():
            if stop is not None and stop.is_set():
                break
            vectors = self._encode_sentences(texts)
            done += 1
            with self.lock:
                if doc_id in self.doc_chunks and self.doc_versions.get(doc_id) == versions[doc_id]:
                    self.sentence_cache.setdefault(doc_id, vectors)
        return done

    def _weights(self) -> tuple[float, ...]:
        return (1.0, LEXICAL_WEIGHT, SENTENCE_WEIGHT) if self.sentence_rerank else (1.0, LEXICAL_WEIGHT)

    def _best_sentence(self, doc_id: int, query: np.ndarray) -> float:
        vectors = self.sentence_vectors(doc_id)
        return float((vectors @ query).max()) if len(vectors) else 0.0

    def _sentence_texts(self, doc_id: int) -> list[str]:
        chunks = [self.chunks[c] for c in self.doc_chunks.get(doc_id, [])]
        # An article of headings only has no sentence: its chunks' own texts stand in.
        return [t for c in chunks for t in sentences(c)] or [c.embedding_text() for c in chunks]

    def _encode_sentences(self, texts: list[str]) -> np.ndarray:
        """Vectors of these sentences, through a process-wide cache keyed by encoder and text: indexes of the
        same articles in one process (the backend's workers' tests, the evaluations) encode each sentence
        once, and a re-saved article re-encodes only the sentences that changed."""
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        name = self.embedder.name
        with _SENTENCE_LOCK:
            found = {t: _SENTENCE_VECTORS[(name, t)] for t in texts if (name, t) in _SENTENCE_VECTORS}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            found.update(zip(missing, self.embedder.encode(missing), strict=True))
            with _SENTENCE_LOCK:
                if len(_SENTENCE_VECTORS) + len(missing) > SENTENCE_CACHE_MAX:
                    _SENTENCE_VECTORS.clear()  # rare, and simpler than an LRU: the next uses re-encode
                _SENTENCE_VECTORS.update(((name, t), found[t]) for t in missing)
        return np.stack([found[t] for t in texts])

    def _sentence_features(self, ranked: Ranked, position: int) -> dict[str, float]:
        if ranked.query is None:
            raise ValueError("the sentence features need the ranking's query vector")
        pool = [d for d, _ in ranked.fused[: max(SENTENCE_POOL, position + 1)]]
        own = self._best_sentence(pool[position], ranked.query)
        others = [self._best_sentence(d, ranked.query) for i, d in enumerate(pool) if i != position]
        return {"sentence": own, "sentence_gap": own - (max(others) if others else 0.0)}

    def _base_features(self, ranked: Ranked, position: int) -> tuple[float, ...]:
        doc_id, fused = ranked.fused[position]
        dense = {d: s for d, _, s in ranked.dense}
        lexical = {d: s for d, _, s in ranked.lexical}
        floor = min(dense.values()) if dense else 0.0
        cosine = dense.get(doc_id, floor)  # not among the dense candidates: at most the lowest candidate
        others = [s for d, s in dense.items() if d != doc_id]
        best_lexical = max(lexical.values()) if lexical else 0.0
        agree = bool(ranked.dense and ranked.lexical) and ranked.dense[0][0] == ranked.lexical[0][0] == doc_id
        return (
            cosine,
            cosine - (max(others) if others else 0.0),
            fused / max_rrf(RRF_K, self._weights()),
            lexical.get(doc_id, 0.0) / best_lexical if best_lexical > 0 else 0.0,
            1.0 if agree else 0.0,
        )

    def _hit(self, ranked: Ranked, position: int) -> Hit:
        doc_id, fused = ranked.fused[position]
        dense = next(((c, s, r) for r, (d, c, s) in enumerate(ranked.dense, 1) if d == doc_id), None)
        lexical = next(((c, s, r) for r, (d, c, s) in enumerate(ranked.lexical, 1) if d == doc_id), None)
        best = dense or lexical
        if best is None:  # cannot happen: every fused article comes from one of the two lists
            raise LookupError(f"article {doc_id} is in neither ranking")
        chunk_id = best[0]
        chunk = self.chunks[chunk_id]
        features = self.features(ranked, position)
        return Hit(
            doc_id=doc_id,
            chunk_id=chunk_id,
            heading_path=chunk.heading_path,
            text=chunk.text,
            fused=fused,
            dense=dense[1] if dense else None,
            lexical=lexical[1] if lexical else None,
            dense_rank=dense[2] if dense else None,
            lexical_rank=lexical[2] if lexical else None,
            confidence=self.calibrator.confidence(features),
            features=features,
        )

    # ----- verification -----

    def plan(self, expected: Mapping[int, int]) -> Plan:
        """What to do so the index holds exactly `expected` (article id -> version)."""
        upsert = sorted(d for d, v in expected.items() if self.doc_versions.get(d) != v)
        remove = sorted(d for d in self.doc_versions if d not in expected)
        changed = len(upsert) + len(remove)
        if changed and changed > REBUILD_SHARE * max(len(expected), 1) and len(expected) > 10:
            return Plan(upsert, remove, rebuild=True, reason=f"{changed} of {len(expected)} articles changed")
        reason = f"{len(upsert)} new or changed, {len(remove)} gone" if changed else ""
        return Plan(upsert, remove, reason=reason)

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {
                "model": self.embedder.name,
                "dim": self.embedder.dim,
                "articles": len(self.doc_versions),
                "chunks": len(self.chunks),
                "index_kind": self.vectors.kind,
                "tombstones": len(self.vectors.tombstones),
                "bm25_pending": self.lexical.pending,
                "threshold": self.calibrator.threshold,
                "directory": str(self.directory) if self.directory else None,
            }

    # ----- persistence -----

    def save(self, directory: Path | None = None) -> None:
        """Write the index files. Searches wait only for an in-memory snapshot, not for the disk.

        Saves of one index are serialized, so an older snapshot never overwrites a newer one.
        """
        directory = directory or self.directory
        if directory is None:
            raise ValueError("no directory to save the index to")
        directory.mkdir(parents=True, exist_ok=True)
        with self._save_lock:
            with self.lock:  # a consistent snapshot: cheap copies of references plus the FAISS bytes
                chunks = list(self.chunks.items())
                tokens = [self.lexical.tokens[i] for i, _ in chunks]
                tombstones = sorted(self.vectors.tombstones)
                vectors = faiss.serialize_index(self.vectors.index)
                manifest = self._manifest()
            encoded = _encode_chunks(chunks, tokens, tombstones)
            with directory_lock(directory):
                _write_atomic(directory / CHUNKS, encoded)
                tmp = directory / f"{VECTORS}.tmp-{os.getpid()}-{threading.get_ident()}"
                vectors.tofile(tmp)
                tmp.replace(directory / VECTORS)
                manifest["files"] = {
                    CHUNKS: _sha256(directory / CHUNKS),
                    VECTORS: _sha256(directory / VECTORS),
                }
                _write_atomic(directory / MANIFEST, json.dumps(manifest, indent=1).encode())

    def _manifest(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "model": self.embedder.name,
            "dim": self.embedder.dim,
            "count": len(self.chunks),
            "vectors": self.vectors.ntotal,
            "index_kind": self.vectors.kind,
            "chunker": asdict(self.config),
            "next_id": self.next_id,
            "documents": {str(d): v for d, v in sorted(self.doc_versions.items())},
        }

    def load(self, directory: Path) -> None:
        """Replace the contents with the files in `directory`; IndexUnusable says why they cannot be used."""
        with directory_lock(directory):
            manifest = _read_manifest(directory)
            self._check_compatible(manifest)
            for name in (CHUNKS, VECTORS):
                if _sha256(directory / name) != manifest["files"][name]:
                    raise IndexUnusable(f"checksum mismatch: {name} is corrupt")
            try:
                payload = json.loads((directory / CHUNKS).read_bytes())
                vectors = VectorIndex.load(
                    directory / VECTORS,
                    self.embedder.dim,
                    manifest["index_kind"],
                    set(payload["tombstones"]),
                )
            except (ValueError, KeyError, RuntimeError) as exc:
                raise IndexUnusable(f"unreadable index files: {exc}") from exc
        self._install(manifest, payload, vectors)

    def _check_compatible(self, manifest: dict[str, Any]) -> None:
        if manifest.get("format") != FORMAT:
            raise IndexUnusable(f"index format {manifest.get('format')} is not {FORMAT}")
        if manifest.get("model") != self.embedder.name or manifest.get("dim") != self.embedder.dim:
            raise IndexUnusable(f"built with {manifest.get('model')} ({manifest.get('dim')} dims)")
        if manifest.get("chunker") != asdict(self.config):
            raise IndexUnusable("built with other chunking settings")

    def _install(self, manifest: dict[str, Any], payload: dict[str, Any], vectors: VectorIndex) -> None:
        chunks = {
            int(c["id"]): Chunk(int(c["doc"]), int(c["ordinal"]), tuple(c["path"]), c["text"], c["title"])
            for c in payload["chunks"]
        }
        if len(chunks) != manifest["count"] or vectors.live != manifest["count"]:
            raise IndexUnusable(
                f"manifest says {manifest['count']} chunks; files hold {len(chunks)} chunks, "
                f"{vectors.live} vectors"
            )
        lexical = LexicalIndex()
        for chunk_id, chunk_tokens in zip(chunks, payload["tokens"], strict=True):
            lexical.put_tokens(chunk_id, chunk_tokens)
        lexical.refresh(wait=True)
        with self.lock:
            self.chunks, self.vectors, self.lexical = chunks, vectors, lexical
            self.sentence_cache = {}
            self.doc_chunks = {}
            for chunk_id, chunk in chunks.items():
                self.doc_chunks.setdefault(chunk.doc_id, []).append(chunk_id)
            self.doc_versions = {int(d): int(v) for d, v in manifest["documents"].items()}
            self.next_id = int(manifest["next_id"])


def open_index(
    directory: Path,
    embedder: Embedder,
    calibrator: Calibrator,
    config: ChunkerConfig | None = None,
    reranker: Reranker | None = None,
) -> tuple[KnowledgeIndex, OpenReport]:
    """The index stored in `directory`, or an empty one and the reason the files could not be used."""
    index = KnowledgeIndex(embedder, calibrator, config, directory, reranker=reranker)
    if not (directory / MANIFEST).exists():
        return index, OpenReport(False, "missing: no index in this directory yet")
    try:
        index.load(directory)
    except IndexUnusable as exc:
        empty = KnowledgeIndex(embedder, calibrator, config, directory, reranker=reranker)
        return empty, OpenReport(False, str(exc))
    return index, OpenReport(True)


def verify_and_repair(
    index: KnowledgeIndex,
    report: OpenReport,
    expected: Mapping[int, int],
    fetch: Callable[[list[int]], list[Document]],
) -> OpenReport:
    """Bring a freshly opened index in line with `expected`: rebuild if unusable or mostly stale, else patch.

    `fetch` returns the published documents for a list of ids (the backend reads them from the database).
    The index is saved when anything changed.
    """
    plan = index.plan(expected)
    if not report.loaded or plan.rebuild:
        index.rebuild(fetch(sorted(expected)))
        report.action, report.upserted = "rebuilt", len(expected)
        report.reason = report.reason or plan.reason
    elif not plan.empty:
        report.removed = index.remove(plan.remove)
        report.upserted = index.upsert(fetch(plan.upsert))
        report.action, report.reason = "patched", plan.reason
    if choose_kind(index.vectors.live) != index.vectors.kind or index.vectors.needs_compaction():
        index.compact()
        report.action = "rebuilt" if report.action == "rebuilt" else "patched"
    if report.action != "loaded" and index.directory is not None:
        index.save()
    return report


@contextlib.contextmanager
def directory_lock(directory: Path) -> Iterator[None]:
    """An exclusive advisory lock on the directory (flock), shared by every process using it."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _rerank_features(ranked: Ranked, position: int) -> dict[str, float]:
    if ranked.rerank is None:
        raise ValueError("the rerank features need a ranking made with a re-ranker")
    doc_id = ranked.fused[position][0]
    floor = min(ranked.rerank.values()) if ranked.rerank else 0.0
    own = ranked.rerank.get(doc_id, floor)  # below the re-ranked depth: at most the lowest scored
    others = [s for d, s in ranked.rerank.items() if d != doc_id]
    return {"rerank": own, "rerank_gap": own - (max(others) if others else own)}


def _best_per_doc(scored: Any, chunks: Mapping[int, Chunk]) -> list[tuple[int, int, float]]:
    """Collapse chunk results to articles (best chunk first wins), keeping the order."""
    seen: set[int] = set()
    out: list[tuple[int, int, float]] = []
    for chunk_id, score in scored:
        chunk = chunks.get(chunk_id)
        if chunk is None or chunk.doc_id in seen:
            continue  # a stale id (tombstoned) or a weaker chunk of an article already listed
        seen.add(chunk.doc_id)
        out.append((chunk.doc_id, chunk_id, score))
    return out


def _encode_chunks(chunks: list[tuple[int, Chunk]], tokens: list[list[str]], tombstones: list[int]) -> bytes:
    payload = {
        "chunks": [
            {
                "id": i,
                "doc": c.doc_id,
                "ordinal": c.ordinal,
                "path": list(c.heading_path),
                "text": c.text,
                "title": c.title,
            }
            for i, c in chunks
        ],
        "tokens": tokens,
        "tombstones": tombstones,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def _read_manifest(directory: Path) -> dict[str, Any]:
    for name in (MANIFEST, CHUNKS, VECTORS):
        if not (directory / name).exists():
            raise IndexUnusable(f"missing: {name}")
    try:
        manifest = json.loads((directory / MANIFEST).read_bytes())
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
            raise ValueError("not a manifest")
        for key in ("count", "index_kind", "documents", "next_id"):
            manifest[key]
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise IndexUnusable(f"corrupt manifest: {exc}") from exc
    return manifest


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.write_bytes(data)
    tmp.replace(path)
