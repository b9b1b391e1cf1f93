"""BM25 over chunks with bm25s: English stop words out, Snowball stems (PyStemmer), Lucene's BM25 variant.

bm25s precomputes every (term, chunk) score from corpus-wide statistics, so it cannot take one chunk in or
out; rebuilding it costs ~0.15 ms per chunk (15 s at 100k chunks). Updates are therefore layered, as in
Lucene's segments:

- the *main* bm25s index covers a snapshot of the chunks;
- chunks added since (the *delta*) are scored at query time with the same Lucene formula and the current
  statistics (document frequencies and lengths are kept up to date on every change);
- chunks removed or replaced since are masked out of the main results.

When the delta and the masked rows pass `MERGE_SHARE` of the corpus, the main index is rebuilt from the cached
tokens: at once for a small corpus, in a background thread above `SYNC_REBUILD_MAX` chunks (searches keep
using the old main index plus the delta meanwhile). Until a merge, main scores use the statistics of their
snapshot, a small drift that the merge removes.
"""

import math
import re
import threading
from collections import Counter

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

TOKEN = re.compile(r"(?u)\b\w\w+\b")
STOPWORDS = frozenset(STOPWORDS_EN)
MERGE_MIN = 64  # pending changes always tolerated before a merge
MERGE_SHARE = 0.05  # ... or this share of the corpus, whichever is larger
SYNC_REBUILD_MAX = 20_000  # chunks; a bigger corpus merges in a background thread
_stemmer = Stemmer.Stemmer("english")
_stem_lock = threading.Lock()  # a PyStemmer object is not safe to share between threads


def tokenize(text: str) -> list[str]:
    words = [w for w in TOKEN.findall(text.lower()) if w not in STOPWORDS]
    with _stem_lock:
        return _stemmer.stemWords(words)


class LexicalIndex:
    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.tokens: dict[int, list[str]] = {}
        self._df: Counter[str] = Counter()
        self._total_len = 0
        self._main: bm25s.BM25 | None = None
        self._main_ids = np.zeros(0, dtype=np.int64)
        self._main_rows: dict[int, int] = {}
        self._masked: set[int] = set()  # rows of the main index whose chunk is gone
        self._delta: dict[int, Counter[str]] = {}  # live chunks the main index does not have: term counts
        self._merging = False
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def pending(self) -> int:
        return len(self._delta) + len(self._masked)

    def put(self, chunk_id: int, text: str) -> None:
        self.put_tokens(chunk_id, tokenize(text))

    def put_tokens(self, chunk_id: int, tokens: list[str]) -> None:
        with self._lock:
            if chunk_id in self.tokens:
                self.remove([chunk_id])
            self.tokens[chunk_id] = tokens
            self._df.update(set(tokens))
            self._total_len += len(tokens)
            self._delta[chunk_id] = Counter(tokens)

    def remove(self, chunk_ids: list[int]) -> None:
        with self._lock:
            for chunk_id in chunk_ids:
                tokens = self.tokens.pop(chunk_id, None)
                if tokens is None:
                    continue
                self._df.subtract(set(tokens))
                self._total_len -= len(tokens)
                self._delta.pop(chunk_id, None)
                if chunk_id in self._main_rows:
                    self._masked.add(chunk_id)

    def refresh(self, wait: bool = False) -> None:
        """Merge pending changes into the main index when they are many (`wait`: now, however few)."""
        with self._lock:
            if not self.pending or self._merging:
                return
            due = self.pending > max(MERGE_MIN, MERGE_SHARE * len(self.tokens)) or self._main is None
            if not (due or wait):
                return
            self._merging = True
            background = not wait and len(self.tokens) > SYNC_REBUILD_MAX
        if background:
            threading.Thread(target=self._merge, name="bm25-merge", daemon=True).start()
        else:
            self._merge()

    def _merge(self) -> None:
        try:
            with self._lock:
                ids = np.fromiter(self.tokens.keys(), dtype=np.int64, count=len(self.tokens))
                # An empty token list would break bm25s; "_" matches no query (tokenize drops 1-letter words).
                corpus = [self.tokens[int(i)] or ["_"] for i in ids]
            main = None
            if len(ids):
                main = bm25s.BM25(k1=self.k1, b=self.b)
                main.index(corpus, show_progress=False)
            with self._lock:
                rows = {int(i): n for n, i in enumerate(ids)}
                self._main, self._main_ids, self._main_rows = main, ids, rows
                self._masked = {i for i in rows if i not in self.tokens}  # removed while building
                self._delta = {
                    i: Counter(t) for i, t in self.tokens.items() if i not in rows
                }  # added meanwhile
        finally:
            self._merging = False

    def search(self, query: str, n: int) -> list[tuple[int, float]]:
        """Up to `n` (chunk id, BM25 score) with a positive score, best first."""
        terms = tokenize(query)
        self.refresh()
        with self._lock:
            if not terms or not self.tokens:
                return []
            found = self._search_main(terms, n) + self._search_delta(terms)
        found.sort(key=lambda item: -item[1])
        return [(i, s) for i, s in found[:n] if s > 0]

    def _search_main(self, terms: list[str], n: int) -> list[tuple[int, float]]:
        if self._main is None:
            return []
        scores = self._main.get_scores(terms)
        for chunk_id in self._masked:
            scores[self._main_rows[chunk_id]] = 0.0
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        return [(int(self._main_ids[i]), float(scores[i])) for i in top if scores[i] > 0]

    def _search_delta(self, terms: list[str]) -> list[tuple[int, float]]:
        """Lucene BM25, as bm25s computes it, with the current corpus statistics."""
        if not self._delta:
            return []
        count = len(self.tokens)
        mean_len = self._total_len / count
        idf = {t: math.log(1 + (count - self._df[t] + 0.5) / (self._df[t] + 0.5)) for t in set(terms)}
        out = []
        for chunk_id, counts in self._delta.items():
            norm = self.k1 * ((1 - self.b) + self.b * len(self.tokens[chunk_id]) / mean_len)
            score = sum(idf[t] * counts[t] / (norm + counts[t]) for t in terms if counts[t])
            if score > 0:
                out.append((chunk_id, score))
        return out
