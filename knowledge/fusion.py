"""Reciprocal rank fusion (Cormack, Clarke and Buettcher, 2009): score(d) = sum_i w_i / (k + rank_i(d)).

Ranks, not scores, are fused, so BM25's unbounded scores and cosine similarities never need a common scale.
"""

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

# Chosen on the bank-FAQ dev split (scripts/eval_kb.py sweeps k 10-100, BM25 weight 0.25-1): best MRR@10.
# A small k lets the top ranks dominate; BM25 at a quarter of dense's weight breaks dense's near-ties with
# exact words (product names, numbers) without pulling in lexical-only noise. Recall@5 moved under a point.
RRF_K = 10
LEXICAL_WEIGHT = 0.25


def rrf(
    rankings: Sequence[Sequence[K]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[K, float]]:
    """Fuse ranked lists (best first, ranks counted from 1) into one list of (key, score), best first.

    Ties keep the order in which keys were first seen, scanning the lists in order, so the result is
    deterministic.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[K, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    order = {key: i for i, key in enumerate(scores)}
    return sorted(scores.items(), key=lambda item: (-item[1], order[item[0]]))


def max_rrf(k: int = RRF_K, weights: Sequence[float] = (1.0, LEXICAL_WEIGHT)) -> float:
    """The score of a key ranked first everywhere: divides fused scores into [0, 1]."""
    return sum(w / (k + 1) for w in weights)
