"""BM25: stemming, layered updates (main index + delta + masked rows) that score like a full rebuild."""

import pytest

from knowledge import lexical
from knowledge.lexical import LexicalIndex, tokenize

TEXTS = {
    1: "Refunds go back to the original payment method within five business days.",
    2: "Standard shipping takes three to five business days.",
    3: "Express shipping arrives in one or two days when ordered before 2 pm.",
    4: "Returns are free for Plus and Pro subscribers.",
    5: "Your card was declined because the billing address did not match.",
    6: "Gift cards never expire.",
}


def test_tokens_are_stemmed_without_stop_words():
    assert tokenize("The refunded orders, and shipping!") == ["refund", "order", "ship"]


def test_delta_chunks_score_exactly_as_after_a_full_rebuild():
    full = LexicalIndex()
    for i, text in TEXTS.items():
        full.put(i, text)
    full.refresh(wait=True)
    layered = LexicalIndex()
    for i in (1, 2, 3, 4):
        layered.put(i, TEXTS[i])
    layered.refresh(wait=True)
    for i in (5, 6):  # fewer than MERGE_MIN: they stay in the delta
        layered.put(i, TEXTS[i])
    layered.refresh()
    assert layered.pending == 2
    for query in ("card declined", "do gift cards expire", "express shipping days", "cards and days"):
        expected = dict(full.search(query, 10))
        got = dict(layered.search(query, 10))
        assert set(got) == set(expected)
        for i in {5, 6} & set(expected):
            assert got[i] == pytest.approx(expected[i], rel=1e-5)


def test_removed_and_replaced_chunks_are_masked_until_the_merge(monkeypatch):
    index = LexicalIndex()
    for i, text in TEXTS.items():
        index.put(i, text)
    index.refresh(wait=True)
    index.remove([2])
    index.put(7, "Standard shipping is now free.")
    assert next(i for i, _ in index.search("standard shipping", 5)) == 7
    assert 2 not in dict(index.search("standard shipping", 5))
    monkeypatch.setattr(lexical, "MERGE_MIN", 1)
    index.refresh()  # two pending changes now pass the limit: merged synchronously (small corpus)
    assert index.pending == 0
    assert 2 not in dict(index.search("standard shipping", 5)) and 7 in dict(
        index.search("standard shipping", 5)
    )


def test_a_large_corpus_merges_in_the_background(monkeypatch):
    monkeypatch.setattr(lexical, "SYNC_REBUILD_MAX", 3)
    monkeypatch.setattr(lexical, "MERGE_MIN", 1)
    index = LexicalIndex()
    for i, text in TEXTS.items():
        index.put(i, text)
    index.refresh(wait=True)
    index.remove([1, 2])
    index.refresh()
    for thread in [t for t in __import__("threading").enumerate() if t.name == "bm25-merge"]:
        thread.join(timeout=60)  # liveness, not speed: a small corpus, on a loaded machine
    assert index.pending == 0 and 1 not in dict(index.search("refunds payment", 5))


def test_empty_and_unknown_queries():
    index = LexicalIndex()
    assert index.search("anything", 5) == []
    index.put(1, "")
    index.put(2, "Gift cards never expire.")
    assert index.search("the", 5) == [] and index.search("zebra", 5) == []
    assert [i for i, _ in index.search("gift", 5)] == [2]
