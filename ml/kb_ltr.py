"""A learning-to-rank re-ranker over the first stage's top articles (issue 21), with cheap features.

For each (question, candidate article) among the first stage's top `depth` fused results: its place and RRF
score, the cosine of the question with the article's best chunk, its title and its best sentence under two
encoders (the adapted one that ranks and the base one, which did not see the training questions), BM25
relative to the question's best, the share of the question's terms in the article, and the probability a
question classifier gives to the article's FAQ class (its tag). A pointwise model (logistic regression or
gradient-boosted trees) scores each candidate; the top `depth` are re-ordered by it, the rest stay put.

`views` precomputes the encoder's similarities for a set of questions against every article (a benchmark's
convenience: a product would compute them for the candidates only, a few dot products per article).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from knowledge.lexical import tokenize
from knowledge.store import KnowledgeIndex, Ranked

FEATURES = (
    "log_position",
    "rrf",
    "a_cos",
    "a_cos_gap",
    "a_title",
    "a_sentence",
    "b_cos",
    "b_cos_gap",
    "b_title",
    "b_sentence",
    "bm25",
    "overlap",
    "class_p",
    "class_top",
)
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "first-stage": ("log_position", "rrf", "a_cos", "a_cos_gap", "bm25"),
    "no-class": tuple(f for f in FEATURES if not f.startswith("class")),
    "no-base": tuple(f for f in FEATURES if not f.startswith("b_")),
    "all": FEATURES,
}
MODELS = ("logistic", "hgb")


@dataclass
class Views:
    """One encoder's view: question vectors and question x article similarities (columns: `doc_ids`)."""

    questions: np.ndarray
    doc_ids: list[int]
    dense: np.ndarray  # best chunk
    title: np.ndarray
    sentence: np.ndarray  # best sentence

    def column(self) -> dict[int, int]:
        return {d: j for j, d in enumerate(self.doc_ids)}


def _max_per_doc(scores: np.ndarray, owners: np.ndarray) -> np.ndarray:
    """Column-wise max over groups of contiguous columns with the same owner."""
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    return np.maximum.reduceat(scores, starts, axis=1)


def views(index: KnowledgeIndex, questions: Sequence[str]) -> Views:
    doc_ids = sorted(index.doc_chunks)
    encode = index.embedder.encode
    q = encode(list(questions))
    chunk_ids = [c for d in doc_ids for c in index.doc_chunks[d]]
    chunk_owner = np.array([index.chunks[c].doc_id for c in chunk_ids])
    chunks = encode([index.chunks[c].embedding_text() for c in chunk_ids])
    titles = encode([index.chunks[index.doc_chunks[d][0]].title or "" for d in doc_ids])
    sentence_vectors = [index.sentence_vectors(d) for d in doc_ids]
    owners = np.concatenate([np.full(len(v), d) for d, v in zip(doc_ids, sentence_vectors, strict=True)])
    sentences = np.concatenate(sentence_vectors)
    return Views(
        q,
        doc_ids,
        _max_per_doc(q @ chunks.T, chunk_owner),
        q @ titles.T,
        _max_per_doc(q @ sentences.T, owners),
    )


def fit_classifier(
    question_vectors: np.ndarray,
    train: Sequence[int],
    gold: Sequence[int],
    tags: Mapping[int, str],
    article_vectors: np.ndarray,
    article_ids: Sequence[int],
) -> tuple[list[str], np.ndarray]:
    """A question -> FAQ class classifier trained on the `train` questions (labelled by their article's
    tag) and every article's text (labelled by its own tag: corpus metadata, no question of another split).
    Returns the classes and every question's class probabilities."""
    train = list(train)
    x = np.vstack([question_vectors[train], article_vectors])
    y = [tags[gold[i]] for i in train] + [tags[d] for d in article_ids]
    model = LogisticRegression(C=10.0, max_iter=2000).fit(x, y)
    return list(model.classes_), model.predict_proba(question_vectors)


@dataclass
class Table:
    """Features of every question's top `depth` fused candidates."""

    candidates: list[list[int]]  # fused order (all of it)
    features: list[np.ndarray]  # per question: (min(depth, len), len(FEATURES))

    @classmethod
    def build(
        cls,
        ranked: Sequence[Ranked],
        adapted: Views,
        base: Views,
        questions: Sequence[str],
        documents: Mapping[int, str],
        classes: tuple[list[str], np.ndarray],
        tags: Mapping[int, str],
        depth: int,
    ) -> "Table":
        column = adapted.column()
        names, probs = classes
        class_of = {c: k for k, c in enumerate(names)}
        doc_tokens = {d: set(tokenize(t)) for d, t in documents.items()}
        candidates, features = [], []
        for i, r in enumerate(ranked):
            order = [d for d, _ in r.fused]
            top = r.fused[:depth]
            cols = [column[d] for d, _ in top]
            bm25 = {d: s for d, _, s in r.lexical}
            best_bm25 = max(bm25.values(), default=0.0) or 1.0
            q_tokens = set(tokenize(questions[i])) or {""}
            a_cos, b_cos = adapted.dense[i, cols], base.dense[i, cols]
            rows = [
                (
                    np.log1p(p),
                    score,
                    a_cos[p],
                    a_cos[p] - a_cos.max(),
                    adapted.title[i, cols[p]],
                    adapted.sentence[i, cols[p]],
                    b_cos[p],
                    b_cos[p] - b_cos.max(),
                    base.title[i, cols[p]],
                    base.sentence[i, cols[p]],
                    bm25.get(d, 0.0) / best_bm25,
                    len(q_tokens & doc_tokens[d]) / len(q_tokens),
                    probs[i, class_of[tags[d]]],
                    float(probs[i].argmax() == class_of[tags[d]]),
                )
                for p, (d, score) in enumerate(top)
            ]
            candidates.append(order)
            features.append(np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURES)))
        return cls(candidates, features)


@dataclass
class Ranker:
    model: Any
    columns: list[int]
    depth: int

    def order(self, table: Table, i: int) -> list[int]:
        """Question i's articles: its top `depth` by the model's score, then the rest in fused order."""
        rows = table.features[i][: self.depth]
        if not len(rows):
            return table.candidates[i]
        scores = self.model.predict_proba(rows[:, self.columns])[:, 1]
        top = table.candidates[i][: len(rows)]
        # Ties (rare with continuous scores) keep the fused order: the sort is stable.
        ranked = [top[j] for j in np.argsort(-scores, kind="stable")]
        return ranked + table.candidates[i][len(rows) :]


def make_model(name: str) -> Any:
    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    if name == "hgb":
        return HistGradientBoostingClassifier(
            max_depth=3,
            learning_rate=0.05,
            max_iter=200,
            min_samples_leaf=20,
            l2_regularization=1.0,
            random_state=0,
        )
    raise ValueError(f"unknown model {name}")


def fit(
    table: Table, questions: Sequence[int], gold: Sequence[int], depth: int, features: str, model: str
) -> Ranker:
    """Fit on these questions' top `depth` candidates (label: the right article or not)."""
    columns = [FEATURES.index(f) for f in FEATURE_SETS[features]]
    x = np.vstack([table.features[i][:depth] for i in questions])
    y = np.concatenate([[d == gold[i] for d in table.candidates[i][:depth]] for i in questions])
    fitted = make_model(model).fit(x[:, columns], y.astype(int))
    return Ranker(fitted, columns, depth)
