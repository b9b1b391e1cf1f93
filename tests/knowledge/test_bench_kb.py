"""scripts/bench_kb.py: the recall@k and exact top-k it reports, on cases small enough to check by hand."""

import numpy as np
import pytest

from knowledge.vectors import VectorIndex
from scripts.bench_kb import exact_top, recall_at_k


def test_recall_counts_the_shared_ids_per_query():
    found = np.array([[1, 2, 3], [4, 5, 6]])
    truth = np.array([[3, 2, 1], [7, 8, 9]])
    assert recall_at_k(found, truth, 3) == pytest.approx(0.5)  # (3/3 + 0/3) / 2


def test_recall_ignores_missing_results_and_order():
    found = np.array([[9, -1, -1, -1]])
    truth = np.array([[-1, 9, 8, 7]])  # -1 in the truth never matches a missing result
    assert recall_at_k(found, truth, 2) == pytest.approx(0.5)
    assert recall_at_k(np.array([[2, 1]]), np.array([[1, 2]]), 2) == 1.0


def test_recall_looks_only_at_the_first_k():
    assert recall_at_k(np.array([[1, 2, 3]]), np.array([[3, 4, 5]]), 2) == 0.0


def test_exact_top_matches_a_flat_index():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:20] + rng.normal(scale=0.05, size=(20, 16)).astype(np.float32)
    truth = exact_top(vectors, queries, 10)
    assert (truth[:, 0] == np.arange(20)).all()
    flat = VectorIndex.build(vectors, np.arange(300, dtype=np.int64), kind="flat")
    assert recall_at_k(flat.search(queries, 10)[1], truth, 10) == 1.0
    hnsw = VectorIndex.build(vectors, np.arange(300, dtype=np.int64), kind="hnsw")
    assert recall_at_k(hnsw.search(queries, 10)[1], truth, 10) > 0.9
