"""Reciprocal rank fusion."""

import pytest

from knowledge.fusion import max_rrf, rrf


def test_scores_are_weighted_reciprocal_ranks():
    fused = dict(rrf([["a", "b", "c"], ["b", "d"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["d"] == pytest.approx(1 / 62)
    weighted = dict(rrf([["a"], ["b"]], k=10, weights=[1.0, 0.5]))
    assert weighted == {"a": pytest.approx(1 / 11), "b": pytest.approx(0.5 / 11)}


def test_agreement_wins_and_ties_keep_first_seen_order():
    assert [key for key, _ in rrf([["x", "y", "z"], ["y", "x", "w"]])][:2] == ["x", "y"]
    assert [key for key, _ in rrf([["p", "q"], ["q", "p"]])] == ["p", "q"]
    assert [key for key, _ in rrf([["b"], ["a"]])] == ["b", "a"]


def test_edge_cases():
    assert rrf([]) == [] and rrf([[], []]) == []
    assert max_rrf(k=60, weights=(1.0, 0.5)) == pytest.approx(1.5 / 61)
    with pytest.raises(ValueError, match="positive"):
        rrf([["a"]], k=0)
    with pytest.raises(ValueError, match="one weight"):
        rrf([["a"], ["b"]], weights=[1.0])
