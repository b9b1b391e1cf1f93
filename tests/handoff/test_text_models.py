"""The learnt policy's text models (backend/handoff/text.py, fitted by ml/handoff_text.py): what they read,
how a turn without an embedding is decided, that the served arithmetic is the training arithmetic, and that
the policy file round-trips and refuses a mismatch."""

import json
import math

import numpy as np
import pytest

from backend.handoff.features import FEATURES, TurnView, handoff_features
from backend.handoff.policy import LearntPolicy
from backend.handoff.text import LOGIT_LIMIT, TEXT_FEATURES, TextModels, vector_of
from contract.embedding import BYTES, DIMENSIONS, as_bytes, encode, from_bytes
from ml.conversations import LabelledConversation, LabelledTurn
from ml.handoff import fit, has_embeddings, text_rows

RNG = np.random.default_rng(11)


def unit(seed: int) -> list[float]:
    v = np.random.default_rng(seed).normal(size=DIMENSIONS)
    return (v / np.linalg.norm(v)).tolist()


def stored(values: list[float]) -> bytes:
    raw = as_bytes(encode(values))
    assert raw is not None
    return raw


def turn(text: str, embedding: bytes | None) -> TurnView:
    return TurnView("order_status", "neutral", 0.0, text, embedding)


def models(now: np.ndarray, pair: np.ndarray, b_now: float = -1.0, b_pair: float = -2.0) -> TextModels:
    return TextModels(tuple(now.tolist()), b_now, tuple(pair.tolist()), b_pair)


# ---------------------------------------------------------------- contract/embedding.py


def test_an_embedding_travels_as_half_floats_and_comes_back_within_their_precision():
    values = unit(1)
    encoded = encode(values)
    raw = as_bytes(encoded)
    assert raw is not None and len(raw) == BYTES and from_bytes(raw) == encoded
    assert np.allclose(vector_of(raw), values, atol=1e-3)


@pytest.mark.parametrize(
    "value",
    [None, 3, "", "not base64", "A" * 1023, "!" * 1024, encode(unit(1))[:-4] + "====",
     encode([math.inf] * 384)],
)
def test_anything_that_is_not_an_embedding_is_read_as_none(value):
    assert as_bytes(value) is None


def test_encode_refuses_a_vector_of_another_width():
    with pytest.raises(ValueError):
        encode([0.0] * 10)


# ---------------------------------------------------------------- TextModels.features


def test_the_pair_model_reads_the_message_before_and_zeros_on_a_first_message():
    now_coef, pair_coef = RNG.normal(size=DIMENSIONS), RNG.normal(size=2 * DIMENSIONS)
    text = models(now_coef, pair_coef)
    first, second = stored(unit(1)), stored(unit(2))
    alone = text.features([turn("hi", first)])
    assert alone["text_now"] == pytest.approx(-1.0 + vector_of(first) @ now_coef)
    assert alone["text_pair"] == pytest.approx(-2.0 + vector_of(first) @ pair_coef[:DIMENSIONS])
    after = text.features([turn("hi", first), turn("and?", second)])
    both = np.concatenate([vector_of(second), vector_of(first)])
    assert after["text_pair"] == pytest.approx(-2.0 + both @ pair_coef)
    # A message before it without an embedding counts as none (zeros), as a first message does.
    assert text.features([turn("hi", None), turn("and?", second)])["text_pair"] == pytest.approx(
        -2.0 + vector_of(second) @ pair_coef[:DIMENSIONS]
    )


def test_a_turn_without_an_embedding_gets_no_text_feature():
    text = models(np.ones(DIMENSIONS), np.ones(2 * DIMENSIONS))
    assert text.features([turn("hi", stored(unit(1))), turn("/affirm", None)]) == {}
    assert text.features([]) == {}


def test_logits_are_clipped_so_one_model_cannot_outweigh_the_rest():
    text = models(np.full(DIMENSIONS, 1000.0), np.full(2 * DIMENSIONS, -1000.0))
    features = text.features([turn("x", stored([1.0] * DIMENSIONS))])
    assert features == {"text_now": LOGIT_LIMIT, "text_pair": -LOGIT_LIMIT}
    assert pytest.approx(math.log(9999)) == LOGIT_LIMIT


def test_the_served_arithmetic_is_the_training_arithmetic():
    """The logits of rows assembled as training assembles them (ml/handoff.text_rows: each message beside
    the one before it) equal TextModels.features on the turns, row by row."""
    text = models(RNG.normal(size=DIMENSIONS), RNG.normal(size=2 * DIMENSIONS), 0.3, -0.4)
    encoded = [encode(unit(seed)) for seed in range(6)]
    raws = [stored(unit(seed)) for seed in range(6)]
    turns = tuple(LabelledTurn(str(j), "neutral", False, None) for j in range(6))
    neutral = {"intent": "greet", "sentiment_label": "neutral", "sentiment_score": 0.0}
    parses = {"x001": [neutral | {"embedding": e} for e in encoded]}
    now, pair = text_rows([LabelledConversation("x001", None, turns, "dev")], parses)
    columns = text.columns(now, pair)
    for i in range(6):
        served = text.features([turn(str(j), raws[j]) for j in range(i + 1)])
        assert [served["text_now"], served["text_pair"]] == pytest.approx(columns[i].tolist())


def test_the_pair_model_must_be_twice_as_wide():
    body = models(np.ones(DIMENSIONS), np.ones(2 * DIMENSIONS)).to_json()
    body["pair"]["coef"] = body["pair"]["coef"][:DIMENSIONS]
    with pytest.raises(ValueError):
        TextModels.from_json(body)


# ---------------------------------------------------------------- LearntPolicy with text models


def policy_with_text(text_weight: float) -> LearntPolicy:
    n = len(FEATURES) + len(TEXT_FEATURES)
    coef = [0.0] * len(FEATURES) + [text_weight, 0.0]
    return LearntPolicy(
        version="t",
        mean=tuple([0.0] * n),
        scale=tuple([1.0] * n),
        coef=tuple(coef),
        intercept=-3.0,
        threshold=0.5,
        text=models(np.full(DIMENSIONS, 0.5), np.zeros(2 * DIMENSIONS), b_now=0.0, b_pair=0.0),
    )


def test_the_text_model_can_hand_a_turn_over_the_cues_would_not():
    policy = policy_with_text(2.0)
    worded = [turn("my parcel is lost and so is my patience", stored([0.5] * DIMENSIONS))]
    decision = policy.decide(worded)
    assert decision.handoff and decision.features["text_now"] > 0
    assert "worded like messages a person had to take over" in decision.reasons
    assert not handoff_features(worded)["explicit_request"]


def test_a_turn_without_an_embedding_is_decided_as_if_its_text_features_were_at_their_mean():
    policy = policy_with_text(2.0)
    decision = policy.decide([turn("/affirm", None)])
    assert "text_now" not in decision.features
    assert decision.score == pytest.approx(1 / (1 + math.exp(3.0)))  # the text columns add nothing


def test_a_policy_with_text_models_round_trips_and_refuses_features_it_does_not_compute():
    policy = policy_with_text(1.5)
    body = json.loads(json.dumps(policy.to_json()))
    assert body["features"] == list(FEATURES + TEXT_FEATURES)
    again = LearntPolicy.from_json(body)
    assert again == policy
    without_models = {k: v for k, v in body.items() if k != "text_models"}
    with pytest.raises(ValueError):
        LearntPolicy.from_json(without_models)  # names text features it has no models for
    short = body | {"coef": body["coef"][:-1]}
    with pytest.raises(ValueError):
        LearntPolicy.from_json(short)


# ---------------------------------------------------------------- fitting (ml/handoff.py, ml/handoff_text.py)


def tiny_dev() -> tuple[list[LabelledConversation], dict]:
    """Three writers' conversations whose hand-off turns point one way in embedding space and whose other
    turns point another, with intents that say nothing: only the words' model can find the hand-offs."""
    items, parses = [], {}
    direction = np.zeros(DIMENSIONS)
    direction[:8] = 1.0
    for writer in "abc":
        for n in range(24):
            handoff = n % 3 == 0
            base = np.random.default_rng(ord(writer) * 100 + n).normal(size=DIMENSIONS) * 0.05
            first, last = base + (-direction * 0.1), base + (direction * 0.1 if handoff else -direction * 0.1)
            turns = (
                LabelledTurn("hello", "neutral", False, None),
                LabelledTurn(f"{writer}{n}", "neutral", handoff, "H3" if handoff else None),
            )
            cid = f"{writer}{n:03d}"
            items.append(LabelledConversation(cid, None, turns, "dev"))
            neutral = {"intent": "greet", "sentiment_label": "neutral", "sentiment_score": 0.0}
            parses[cid] = [neutral | {"embedding": encode(v)} for v in (first.tolist(), last.tolist())]
    return items, parses


def test_fit_learns_the_text_models_from_the_parses_embeddings_and_hands_over_what_they_find():
    items, parses = tiny_dev()
    assert has_embeddings(items, parses)
    now, pair = text_rows(items, parses)
    assert now.shape == (len(items) * 2, DIMENSIONS) and pair.shape == (len(items) * 2, 2 * DIMENSIONS)
    assert np.all(pair[0, DIMENSIONS:] == 0)  # a first turn has no message before it
    policy, report = fit(items, parses, version="tiny")
    assert policy.text is not None and report["chosen_on_dev"]["text_models_C"] is not None
    assert report["chosen_on_dev"]["cv_f1_at_threshold"] > 0.9
    assert LearntPolicy.from_json(json.loads(json.dumps(policy.to_json()))) == policy


def test_parses_without_embeddings_fit_the_cue_features_alone():
    items, parses = tiny_dev()
    for turns in parses.values():
        for p in turns:
            del p["embedding"]
    assert not has_embeddings(items, parses)
    policy, report = fit(items, parses, version="cues")
    assert policy.text is None and report["chosen_on_dev"]["text_models_C"] is None


def test_only_the_text_features_may_be_missing():
    policy = policy_with_text(2.0)
    features = policy.features([turn("where is it", stored(unit(3)))])
    assert set(features) == set(FEATURES + TEXT_FEATURES)
    del features["negative_now"]
    with pytest.raises(KeyError):
        policy.probability(features)
