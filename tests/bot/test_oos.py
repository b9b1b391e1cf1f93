"""Out-of-scope detection: the scores of nlu/oos.py and the intent classifier's `out_of_scope` option."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu import oos
from nlu.intent_classifier import SentenceEmbeddingIntentClassifier

EMBEDDING_METHODS = ("centroid", "knn", "mahalanobis")


def clusters(seed: int = 0, per_class: int = 30, dim: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three tight clusters around orthogonal axes, and their class names."""
    rng = np.random.default_rng(seed)
    centres = np.eye(dim)[:3]
    x = np.vstack([c + 0.1 * rng.standard_normal((per_class, dim)) for c in centres])
    return x, np.repeat(np.array(["a", "b", "c"]), per_class), centres


@pytest.mark.parametrize("method", EMBEDDING_METHODS)
def test_embedding_scores_rank_a_far_point_below_every_cluster_point(method: str) -> None:
    x, y, _ = clusters()
    state = oos.fit(x, y, method, k=5)
    far = np.zeros((1, x.shape[1]))
    far[0, 7] = 1.0  # an axis no class lives on
    inside = oos.score(state, clusters(seed=1)[0], None)
    assert oos.score(state, far, None)[0] < inside.min()


def test_logit_scores_msp_is_the_softmax_maximum_and_energy_the_log_sum_exp() -> None:
    logits = np.array([[2.0, 0.0, -1.0], [500.0, 499.0, 0.0]])  # the second would overflow a naive exp
    expected_msp = np.exp(logits[0]) / np.exp(logits[0]).sum()
    msp = oos.score(oos.fit(np.zeros((2, 2)), ["a", "b"], "msp"), None, logits)
    energy = oos.score(oos.fit(np.zeros((2, 2)), ["a", "b"], "energy"), None, logits)
    assert msp[0] == pytest.approx(expected_msp.max())
    assert msp[1] == pytest.approx(1 / (1 + np.exp(-1.0)), rel=1e-6)
    assert energy[0] == pytest.approx(np.log(np.exp(logits[0]).sum()))
    assert energy[1] == pytest.approx(500.0 + np.log(1 + np.exp(-1.0)))


def test_cross_fitted_scores_never_see_the_scored_example() -> None:
    x, y, _ = clusters()
    # In sample, an example is its own nearest neighbour (cosine 1); held out, it is not.
    in_sample = oos.score(oos.fit(x, y, "knn", k=1), x, None)
    held_out = oos.cross_fitted_scores(x, y, "knn", k=1, folds=5)
    assert np.allclose(in_sample, 1.0, atol=1e-5)
    assert np.isfinite(held_out).all() and (held_out < 1.0 - 1e-4).all()


def test_folds_are_stratified_and_the_threshold_is_the_rejection_quantile() -> None:
    _, y, _ = clusters(per_class=30)
    fold_of = oos.stratified_folds(y, 5, seed=3)
    for label in ("a", "b", "c"):
        assert np.bincount(fold_of[y == label], minlength=5).tolist() == [6] * 5
    scores = np.arange(100, dtype=float)
    threshold = oos.threshold_for(scores, 0.1)
    assert (scores < threshold).mean() == pytest.approx(0.1, abs=0.011)
    assert oos.threshold_for(scores, 0.0) == scores.min()  # rate 0 rejects nothing held out


def test_unknown_method_and_missing_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown out-of-scope method"):
        oos.fit(np.zeros((2, 2)), ["a", "b"], "softmax")
    with pytest.raises(ValueError, match="logits"):
        oos.score({"method": "energy"}, np.zeros((1, 2)), None)
    with pytest.raises(ValueError, match="fit_logits"):
        oos.cross_fitted_scores(np.zeros((4, 2)), ["a", "a", "b", "b"], "msp")


# ---- the classifier ------------------------------------------------------------------------------------

EXAMPLES = {
    "order_status": [
        "where is my order",
        "my package hasn't arrived",
        "track my delivery",
        "when does my parcel ship",
        "has my order been dispatched",
        "where is my parcel right now",
        "my delivery is late",
        "tracking number for my order",
    ],
    "refund": [
        "I want my money back",
        "refund please",
        "can I get a refund",
        "return it and refund me",
        "how long does a refund take",
        "I was promised a refund",
        "send my money back for the broken item",
        "refund my last purchase",
    ],
    "out_of_scope": [
        "what's the weather tomorrow",
        "book me a flight to Paris",
        "write me a poem about cats",
        "who won the game last night",
        "order me a pizza",
        "tell me a recipe for pancakes",
        "play some music",
        "what is the capital of australia",
    ],
}
CONFIG = {"out_of_scope": {"method": "knn", "k": 3, "reject_rate": 0.1}}


def training_data(featurizer, intents: tuple[str, ...]) -> TrainingData:
    examples = [Message(data={"text": t, "intent": i}) for i in intents for t in EXAMPLES[i]]
    return TrainingData(training_examples=featurizer.process(examples))


@pytest.fixture(scope="module")
def trained(featurizer, train_and_load):
    """Two shop intents (no out_of_scope intent to take the unrelated message), with and without detection."""
    data = training_data(featurizer, ("order_status", "refund"))
    with_oos = train_and_load(SentenceEmbeddingIntentClassifier, CONFIG, "intent_oos", data)
    without = train_and_load(SentenceEmbeddingIntentClassifier, {}, "intent_no_oos", data)
    return with_oos, without


def fallback() -> FallbackClassifier:
    # bot/config.yml's settings.
    return FallbackClassifier(
        {**FallbackClassifier.get_default_config(), "threshold": 0.5, "ambiguity_threshold": 0.1}
    )


def test_an_unrelated_message_falls_back_and_in_scope_ones_are_untouched(
    trained, featurizer, messages
) -> None:
    (_, loaded), (_, plain) = trained
    texts = ("how do I replace the spark plugs in a diesel tractor", "where is my order", "refund please")
    with_oos = loaded.process(featurizer.process(messages(*texts)))
    without = plain.process(featurizer.process(messages(*texts)))

    tractor, order, refund = with_oos
    assert tractor.get("scope")["rejected"] is True
    assert tractor.get("scope")["score"] < tractor.get("scope")["threshold"]
    assert [r["confidence"] for r in tractor.get("intent_ranking")] == [0.0, 0.0]
    assert [r["name"] for r in tractor.get("intent_ranking")] == [
        r["name"] for r in without[0].get("intent_ranking")
    ]
    # The classifier's own belief is kept for the record.
    assert tractor.get("scope")["confidence"] == pytest.approx(
        without[0].get("intent_ranking")[0]["confidence"]
    )
    for kept, reference in ((order, without[1]), (refund, without[2])):
        assert kept.get("scope")["rejected"] is False
        assert kept.get("intent_ranking") == reference.get("intent_ranking")
        assert "scope" not in reference.as_dict(only_output_properties=True)

    after = fallback().process(with_oos)
    assert [m.get("intent")["name"] for m in after] == ["nlu_fallback", "order_status", "refund"]


def test_the_bots_own_out_of_scope_intent_is_never_rejected(featurizer, train_and_load, messages) -> None:
    data = training_data(featurizer, tuple(EXAMPLES))
    _, loaded = train_and_load(SentenceEmbeddingIntentClassifier, CONFIG, "intent_oos_own", data)
    # A threshold above every score: only the exemption can keep a message.
    loaded._model["oos_threshold"] = 10.0
    weather, order = loaded.process(
        featurizer.process(messages("what's the weather tomorrow", "where is my order"))
    )
    assert weather.get("intent")["name"] == "out_of_scope"
    assert weather.get("scope")["rejected"] is False and weather.get("intent")["confidence"] > 0
    assert order.get("scope")["rejected"] is True and order.get("intent")["confidence"] == 0.0


def test_round_trip_keeps_the_threshold_and_verdicts(trained, featurizer, messages) -> None:
    (before, after), _ = trained
    texts = ("how do I replace the spark plugs in a diesel tractor", "track my delivery")
    assert before._model["oos_threshold"] == after._model["oos_threshold"]
    assert [m.get("scope") for m in before.process(featurizer.process(messages(*texts)))] == [
        m.get("scope") for m in after.process(featurizer.process(messages(*texts)))
    ]


@pytest.mark.parametrize(
    "setting",
    [
        {"method": "softmax", "reject_rate": 0.1},
        {"method": "knn", "reject_rate": 1.5},
        {"method": "knn", "k": 0},
        {"method": "centroid", "threshold": 0.3},
    ],
)
def test_bad_out_of_scope_settings_are_refused(setting) -> None:
    with pytest.raises(InvalidConfigException, match="out_of_scope"):
        SentenceEmbeddingIntentClassifier.validate_config(
            {**SentenceEmbeddingIntentClassifier.get_default_config(), "out_of_scope": setting}
        )
