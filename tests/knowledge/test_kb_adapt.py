"""Encoder adaptation: fine-tuning on (question, passage) pairs, the adapted model's identity, and the index
refusing vectors of another encoder."""

import json
import random

import numpy as np
import pytest

from knowledge.adapt import AdaptConfig, _batches, adapt
from knowledge.embedder import ADAPTATION, MODEL_NAME, SentenceEmbedder, encoder_name
from knowledge.store import Document, KnowledgeIndex, open_index, verify_and_repair
from tests.knowledge.kb_fixtures import calibrator, embedder

# Made-up verbs the base model cannot know: each stands for one real action. Training on some products
# teaches the mapping; the held-out products show that it generalizes to pairs never seen in training.
CODEWORDS = {"zorp": "cancel", "blick": "renew", "quandle": "transfer", "frell": "freeze"}
PRODUCTS = ["credit card", "car loan", "savings account", "home insurance", "fixed deposit", "cheque book"]
HELD_OUT = PRODUCTS[-2:]


def passage(action: str, product: str) -> str:
    return f"To {action} your {product}, sign in to online banking and choose {action} under {product}."


def question(codeword: str, product: str) -> str:
    return f"how do I {codeword} my {product}"


def recall_at_1(model: SentenceEmbedder, pairs: list[tuple[str, str]], passages: list[str]) -> float:
    scores = model.encode([q for q, _ in pairs]) @ model.encode(passages).T
    return float(np.mean([passages[i] == p for i, (_, p) in zip(scores.argmax(1), pairs, strict=True)]))


@pytest.fixture(scope="module")
def adapted(tmp_path_factory) -> SentenceEmbedder:
    train = [(question(c, p), passage(a, p)) for c, a in CODEWORDS.items() for p in PRODUCTS[:-2]]
    config = AdaptConfig(epochs=4, learning_rate=1e-4, batch_size=8, max_seq_length=48)
    root = tmp_path_factory.mktemp("kb_encoder")
    return SentenceEmbedder(adapt(train, root, config, trained_on="synthetic codewords"))


@pytest.mark.slow  # fine-tunes the encoder (module fixture)
def test_adaptation_improves_recall_on_held_out_pairs(adapted):
    passages = [passage(a, p) for a in CODEWORDS.values() for p in PRODUCTS]
    held_out = [(question(c, p), passage(a, p)) for c, a in CODEWORDS.items() for p in HELD_OUT]
    before, after = recall_at_1(embedder(), held_out, passages), recall_at_1(adapted, held_out, passages)
    assert after >= before + 0.25, (before, after)


@pytest.mark.slow  # fine-tunes the encoder (module fixture)
def test_the_adapted_model_is_named_by_its_files_and_reused(adapted, tmp_path):
    meta = json.loads((adapted.path / ADAPTATION).read_text())
    assert adapted.name == encoder_name(adapted.path) == f"{MODEL_NAME}+adapted-{meta['files_sha256'][:16]}"
    assert adapted.path.name == f"minilm-adapted-{meta['files_sha256'][:16]}"
    assert meta["trained_on"] == "synthetic codewords" and meta["pairs"] == 16
    train = [(question(c, p), passage(a, p)) for c, a in CODEWORDS.items() for p in PRODUCTS[:-2]]
    config = AdaptConfig(epochs=4, learning_rate=1e-4, batch_size=8, max_seq_length=48)
    assert adapt(train, adapted.path.parent, config) == adapted.path  # same inputs: no second training


@pytest.mark.slow  # fine-tunes the encoder (module fixture)
def test_changed_model_files_are_refused(adapted, tmp_path):
    copy = tmp_path / adapted.path.name
    copy.mkdir()
    for file in adapted.path.rglob("*"):
        if file.is_file():
            target = copy / file.relative_to(adapted.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.read_bytes())
    (copy / "config_sentence_transformers.json").write_text("{}")
    with pytest.raises(RuntimeError, match="hash mismatch"):
        SentenceEmbedder(copy).load()


@pytest.mark.slow  # fine-tunes the encoder (module fixture)
def test_an_index_built_by_another_encoder_is_rebuilt_not_mixed(adapted, tmp_path):
    documents = [
        Document(1, 1, "Freezing a card", passage("freeze", "credit card")),
        Document(2, 1, "Renewing a loan", passage("renew", "car loan")),
    ]
    base = KnowledgeIndex(embedder(), calibrator(), directory=tmp_path)
    base.rebuild(documents)
    base.save()
    reopened, report = open_index(tmp_path, adapted, calibrator())
    assert not report.loaded and f"built with {MODEL_NAME} " in report.reason
    expected = {d.id: d.version for d in documents}
    report = verify_and_repair(reopened, report, expected, lambda ids: [d for d in documents if d.id in ids])
    assert report.action == "rebuilt"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["model"] == adapted.name
    assert reopened.search("how do I frell my credit card", 1).hits[0].doc_id == 1


def test_batches_never_hold_one_passage_twice():
    pairs = [(f"q{n}", f"p{n % 3}") for n in range(12)]
    batches = _batches(pairs, 4, random.Random(0))
    assert sorted(p for b in batches for p in b) == sorted(pairs)
    assert all(len({p for _, p in b}) == len(b) <= 4 for b in batches)


def test_the_backend_loads_the_calibration_kept_with_an_adapted_encoder(tmp_path):
    from backend.core.config import Settings
    from backend.kb.indexing import load_calibrator
    from knowledge.calibration import CALIBRATION, Calibrator

    fitted = Calibrator((1.0, 2.0, 3.0, 4.0, 5.0), -1.0, 0.42, fitted_on="adapted encoder's dev-cal split")
    fitted.save(tmp_path / CALIBRATION)
    assert load_calibrator(Settings(kb_encoder_dir=tmp_path)).threshold == 0.42
    shipped = Calibrator.load().fitted_on
    assert load_calibrator(Settings()).fitted_on == shipped  # the base encoder: knowledge/calibration.json
    assert load_calibrator(Settings(kb_encoder_dir=tmp_path / "none")).fitted_on == shipped


def test_a_hard_negative_joins_the_softmax_and_another_questions_passage_is_not_its_negative():
    import torch

    from knowledge.adapt import _loss

    config = AdaptConfig(scale=1.0)
    batch = [("q0", "p0", "p1"), ("q1", "p1", "n1")]  # q0's hard negative is q1's own passage
    queries = torch.eye(2, 3)
    passages = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [1.0, 0, 0], [0, 0, 1.0]])  # p0, p1, p1 again, n1
    logits = torch.tensor([[1.0, 0, 1.0, 0], [0, 1.0, float("-inf"), 0]])  # column 2 masked for q1 only
    expected = torch.nn.functional.cross_entropy(logits, torch.arange(2))
    assert torch.isclose(_loss(torch, queries, passages, batch, config), expected)
    symmetric = _loss(torch, queries, passages, batch, AdaptConfig(scale=1.0, symmetric=True))
    back = torch.nn.functional.cross_entropy(logits[:, :2].T, torch.arange(2))
    assert torch.isclose(symmetric, (expected + back) / 2)


def test_the_training_key_follows_hard_negatives_and_the_symmetric_loss(tmp_path):
    from knowledge.adapt import training_key

    (tmp_path / "weights").write_bytes(b"x")
    pairs = [("q0", "p0"), ("q1", "p1")]
    key = training_key(pairs, AdaptConfig(), tmp_path)
    assert key == training_key(list(pairs), AdaptConfig(), tmp_path)
    assert key != training_key([("q0", "p0", "p1"), ("q1", "p1")], AdaptConfig(), tmp_path)
    assert key != training_key(pairs, AdaptConfig(symmetric=True), tmp_path)
