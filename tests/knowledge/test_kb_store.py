"""The knowledge index: incremental updates, persistence, verification and repair, hybrid search."""

import json

import pytest

from knowledge.store import CHUNKS, MANIFEST, VECTORS, Document, KnowledgeIndex, open_index, verify_and_repair
from tests.knowledge.kb_fixtures import calibrator, embedder, seed_documents, seeded_index, slug_of


@pytest.fixture
def index(tmp_path) -> KnowledgeIndex:
    return seeded_index(tmp_path / "kb_index")


def top_slug(index: KnowledgeIndex, question: str) -> str:
    return slug_of(index.search(question, 1).hits[0].doc_id)


def test_hybrid_search_finds_the_right_seeded_article(index):
    assert top_slug(index, "how long does shipping take") == "shipping-times"
    assert top_slug(index, "why was my card declined") == "failed-payment"
    result = index.search("my parcel still has not arrived", 3)
    assert slug_of(result.hits[0].doc_id) == "late-delivery"
    hit = result.hits[0]
    assert hit.dense is not None and 0 < hit.confidence < 1 and hit.fused > result.hits[1].fused


def test_update_replaces_only_that_articles_chunks_and_other_ids_stay(index):
    before = {i: c for i, c in index.chunks.items() if c.doc_id != 1}
    changed = Document(
        1, 2, "Shipping by carrier pigeon", "All parcels now travel by carrier pigeon in 40 days."
    )
    assert index.upsert([changed]) == 1
    assert index.upsert([changed]) == 0  # same version: nothing to do
    assert {i: c for i, c in index.chunks.items() if c.doc_id != 1} == before
    hit = index.search("do you deliver with pigeons", 1).hits[0]
    assert hit.doc_id == 1 and "carrier pigeon" in hit.text
    assert not any("UPS, FedEx" in c.text for c in index.chunks.values())
    assert index.doc_versions[1] == 2


def test_removed_articles_are_never_returned(index):
    index.remove([1, 2])
    for question in ("how long does shipping take", "my order is late", "UPS FedEx DHL carriers"):
        assert not {h.doc_id for h in index.search(question, 13).hits} & {1, 2}
    assert 1 not in index.doc_versions and all(c.doc_id not in (1, 2) for c in index.chunks.values())


def test_save_and_load_give_the_same_index(index):
    index.save()
    loaded, report = open_index(index.directory, embedder(), calibrator())
    assert report.loaded and report.reason == ""
    assert loaded.chunks == index.chunks and loaded.doc_versions == index.doc_versions
    assert loaded.next_id == index.next_id
    question = "can I get my money back"
    assert [h.chunk_id for h in loaded.search(question, 5).hits] == [
        h.chunk_id for h in index.search(question, 5).hits
    ]
    manifest = json.loads((index.directory / MANIFEST).read_text())
    assert (
        manifest["model"] == embedder().name
        and manifest["dim"] == 384
        and manifest["count"] == len(index.chunks)
    )
    assert set(manifest["files"]) == {CHUNKS, VECTORS}


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda d: (d / VECTORS).write_bytes(b"not a faiss index"), "checksum mismatch: vectors.faiss"),
        (
            lambda d: (d / CHUNKS).write_bytes((d / CHUNKS).read_bytes()[:-100]),
            "checksum mismatch: chunks.json",
        ),
        (lambda d: (d / VECTORS).unlink(), "missing: vectors.faiss"),
        (lambda d: (d / MANIFEST).write_text("{not json"), "corrupt manifest"),
        (lambda d: (d / MANIFEST).unlink(), "missing: no index"),
        (
            lambda d: (d / MANIFEST).write_text(
                json.dumps(json.loads((d / MANIFEST).read_text()) | {"model": "other/model"})
            ),
            "built with other/model",
        ),
    ],
)
def test_a_damaged_index_is_detected_and_rebuilt(index, damage, reason):
    index.save()
    damage(index.directory)
    reopened, report = open_index(index.directory, embedder(), calibrator())
    assert not report.loaded and reason in report.reason
    assert not reopened.chunks
    expected = {d.id: d.version for d in seed_documents()}
    report = verify_and_repair(
        reopened, report, expected, lambda ids: [d for d in seed_documents() if d.id in ids]
    )
    assert report.action == "rebuilt" and reopened.doc_versions == expected
    assert top_slug(reopened, "how long does shipping take") == "shipping-times"
    again, report = open_index(index.directory, embedder(), calibrator())  # the repair was saved
    assert report.loaded and again.doc_versions == expected


def test_a_stale_index_is_patched_not_rebuilt(index):
    index.save()
    reopened, report = open_index(index.directory, embedder(), calibrator())
    kept = {i: c for i, c in reopened.chunks.items() if c.doc_id not in (3, 4)}
    expected = {d.id: d.version for d in seed_documents() if d.id != 4} | {3: 2, 99: 1}
    fresh = {
        3: Document(3, 2, "Returns", "Returns are free for 60 days."),
        99: Document(99, 1, "Gift cards", "Gift cards never expire."),
    }
    fetched: list[list[int]] = []

    def fetch(ids: list[int]) -> list[Document]:
        fetched.append(ids)
        return [fresh[i] for i in ids]

    report = verify_and_repair(reopened, report, expected, fetch)
    assert report.action == "patched" and report.upserted == 2 and report.removed == 1
    assert fetched == [[3, 99]]
    assert reopened.doc_versions == expected
    assert {i: c for i, c in reopened.chunks.items() if c.doc_id not in (3, 99)} == kept  # untouched ids
    assert reopened.search("do gift cards expire", 1).hits[0].doc_id == 99


def test_an_empty_knowledge_base_searches_to_nothing(tmp_path):
    empty = KnowledgeIndex(embedder(), calibrator(), directory=tmp_path)
    result = empty.search("anything", 5)
    assert result.hits == [] and not result.answerable
    empty.save()
    assert open_index(tmp_path, embedder(), calibrator())[1].loaded
