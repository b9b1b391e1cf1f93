"""The FAISS wrapper: stable ids, removal (real or tombstones), persistence, the size rule."""

import numpy as np
import pytest

from knowledge.vectors import FLAT_MAX, HNSW_MAX, VectorIndex, choose_kind


def unit(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_the_size_rule():
    assert choose_kind(0) == choose_kind(FLAT_MAX - 1) == "flat"
    assert choose_kind(FLAT_MAX) == choose_kind(HNSW_MAX - 1) == "hnsw"
    assert choose_kind(HNSW_MAX) == choose_kind(10**7) == "ivf"


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_add_search_remove_and_reload_keep_the_ids(kind, tmp_path):
    vectors = unit(2000)
    ids = np.arange(10_000, 12_000, dtype=np.int64) * 7  # arbitrary, sparse ids
    index = VectorIndex.build(vectors, ids, kind)
    scores, found = index.search(vectors[:5], 1)
    assert found[:, 0].tolist() == ids[:5].tolist() and np.allclose(scores[:, 0], 1.0, atol=1e-4)

    index.remove(ids[:3])
    _, found = index.search(vectors[:3], 10)
    assert not set(found.ravel().tolist()) & set(ids[:3].tolist())
    assert index.live == 1997

    extra = unit(2, seed=1)
    index.add(extra, np.array([1, 2], dtype=np.int64))
    assert index.search(extra, 1)[1][:, 0].tolist() == [1, 2]

    index.save(tmp_path / "v.faiss")
    again = VectorIndex.load(tmp_path / "v.faiss", 16, kind, index.tombstones)
    assert again.live == index.live
    assert again.search(vectors[3:8], 1)[1].tolist() == index.search(vectors[3:8], 1)[1].tolist()


def test_hnsw_removal_is_a_tombstone_until_compaction():
    vectors, ids = unit(500), np.arange(500, dtype=np.int64)
    index = VectorIndex.build(vectors, ids, "hnsw")
    index.remove(ids[:150])
    assert index.ntotal == 500 and index.live == 350 and index.needs_compaction()
    compact = index.compact("hnsw")
    assert compact.ntotal == 350 and not compact.tombstones
    live, live_ids = compact.live_vectors()
    assert sorted(live_ids.tolist()) == list(range(150, 500))
    assert np.allclose(live[np.argsort(live_ids)], vectors[150:], atol=1e-6)


def test_ivf_contents_can_be_read_back_for_a_rebuild():
    vectors, ids = unit(1000), np.arange(1000, dtype=np.int64) + 5
    index = VectorIndex.build(vectors, ids, "ivf")
    index.remove(ids[:10])
    live, live_ids = index.live_vectors()
    order = np.argsort(live_ids)
    assert live_ids[order].tolist() == ids[10:].tolist()
    assert np.allclose(live[order], vectors[10:])


def test_bad_input_is_refused():
    index = VectorIndex.empty(16)
    with pytest.raises(ValueError, match="dimensions"):
        index.add(unit(2, dim=8), np.array([1, 2]))
    with pytest.raises(ValueError, match="one id each"):
        index.add(unit(2), np.array([1]))
    with pytest.raises(ValueError, match="trained"):
        VectorIndex.empty(16, "ivf")
    assert index.search(unit(1), 5)[1].tolist() == [[-1]]
