"""The cross-encoder re-ranker: training from the MiniLM weights on hard negatives, the cached build, the
merged order, and the index re-ordering its top articles with it."""

import json

import pytest

from backend.core.config import Settings
from knowledge.calibration import RERANK_FEATURES
from knowledge.rerank import CHOICE, Example, RerankConfig, Reranker, build, configured_reranker, merge
from knowledge.store import Document, KnowledgeIndex
from tests.knowledge.kb_fixtures import calibrator, embedder

# A question names an action and a product; its hard negatives are the same action on other products. An
# untrained one-logit head is at chance (0.25 among four passages); after training the model must pick the
# passage that matches the question, also for products it never saw.
ACTIONS = ["cancel", "renew", "transfer", "freeze"]
PRODUCTS = ["credit card", "car loan", "savings account", "home insurance"]
HELD_OUT = ["fixed deposit", "cheque book", "debit card", "mortgage"]
CONFIG = RerankConfig(epochs=3, learning_rate=5e-5, negatives=3, questions_per_step=2, max_length=48)


def passage(action: str, product: str) -> str:
    return f"To {action} your {product}, sign in to online banking and choose {action} under {product}."


def question(action: str, product: str) -> str:
    return f"how do I {action} my {product}"


def examples(products: list[str]) -> list[Example]:
    return [
        Example(question(a, p), passage(a, p), tuple(passage(a, other) for other in products if other != p))
        for a in ACTIONS
        for p in products
    ]


def accuracy(reranker: Reranker, held_out: list[Example]) -> float:
    """Share of questions whose right passage outscores its hard negatives."""
    right = 0
    for example in held_out:
        scores = reranker.score([(example.question, p) for p in (example.positive, *example.negatives)])
        right += int(scores.argmax() == 0)
    return right / len(held_out)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> list:
    root = tmp_path_factory.mktemp("kb_reranker")
    return build(examples(PRODUCTS), root, CONFIG, trained_on="synthetic codewords")


@pytest.mark.slow  # fine-tunes the cross-encoder (module fixture)
def test_training_teaches_matching_that_holds_on_unseen_products(trained):
    assert accuracy(Reranker(trained[-1]), examples(HELD_OUT)) >= 0.9


@pytest.mark.slow
def test_every_epoch_is_saved_and_the_same_inputs_reuse_them(trained):
    assert len(trained) == CONFIG.epochs and len(set(trained)) == CONFIG.epochs
    stamps = [(d / "reranker.json").stat().st_mtime_ns for d in trained]
    again = build(examples(PRODUCTS), trained[0].parent, CONFIG)
    assert again == trained and [(d / "reranker.json").stat().st_mtime_ns for d in again] == stamps
    other = build(
        examples(PRODUCTS[:3]), trained[0].parent, RerankConfig(epochs=1, max_length=48, negatives=1)
    )
    assert other[0] not in trained  # other examples: another key


@pytest.mark.slow
def test_the_index_reorders_its_top_articles_with_the_cross_encoder(trained):
    documents = [
        Document(n, 1, f"{a.title()} your {p}", passage(a, p))
        for n, (a, p) in enumerate(((a, p) for a in ACTIONS for p in HELD_OUT), 1)
    ]
    plain = KnowledgeIndex(embedder(), calibrator(), sentence_rerank=False)
    reranked = KnowledgeIndex(
        embedder(), calibrator(), sentence_rerank=False, reranker=Reranker(trained[-1], depth=4, weight=None)
    )
    for index in (plain, reranked):
        index.rebuild(documents)
    queries = [question(a, p) for a in ACTIONS for p in HELD_OUT]  # in the documents' order
    ranked = reranked.rank(queries)
    for before, after in zip(plain.rank(queries), ranked, strict=True):
        top = [d for d, _ in before.fused[:4]]
        assert after.rerank is not None and set(after.rerank) == set(top)
        assert [d for d, _ in after.fused[:4]] == sorted(top, key=lambda d: -after.rerank[d])
        assert after.fused[4:] == before.fused[4:]  # below the depth nothing moves
    rerank, gap = reranked.features(ranked[0], 0, RERANK_FEATURES)
    assert rerank == max(ranked[0].rerank.values()) and gap > 0
    with pytest.raises(ValueError, match="re-ranker"):
        plain.features(plain.rank(queries[:1])[0], 0, RERANK_FEATURES)


def test_merge_orders_by_score_alone_or_fused_with_the_first_stage():
    first, scores = [10, 20, 30, 40], [0.1, 3.0, 2.0, -1.0]
    assert merge(first, scores, None) == [20, 30, 10, 40]
    assert merge(first, scores, 0.0) == first  # weight 0: the first stage's order stays
    assert merge(first, scores, 1.0)[0] == 20  # second in both lists beats first in one and third in other
    assert merge(first, scores, 100.0) == [20, 30, 10, 40]


def test_the_backend_setting_switches_it_on_with_the_saved_choice(tmp_path):
    assert configured_reranker(Settings()) is None  # off by default
    with pytest.raises(FileNotFoundError):
        configured_reranker(Settings(kb_reranker_dir=tmp_path))
    (tmp_path / "reranker.json").write_text(json.dumps({"config": {"max_length": 64}}))
    (tmp_path / CHOICE).write_text(json.dumps({"depth": 12, "weight": None, "chosen_on": "dev"}))
    loaded = configured_reranker(Settings(kb_reranker_dir=tmp_path))
    assert loaded is not None and (loaded.depth, loaded.weight, loaded.max_length) == (12, None, 64)
    given = Reranker(tmp_path, depth=5, weight=2.0)  # explicit settings win over the saved choice
    assert (given.depth, given.weight) == (5, 2.0)
