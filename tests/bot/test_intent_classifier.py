"""SentenceEmbeddingIntentClassifier: intent + ranking from the sentence features, persistence round trip."""

import pytest
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.intent_classifier import SentenceEmbeddingIntentClassifier

EXAMPLES = {
    "order_status": [
        "where is my order",
        "my package hasn't arrived",
        "track my delivery",
        "when does it ship",
    ],
    "refund": ["I want my money back", "refund please", "can I get a refund", "return it and refund me"],
    "greet": ["hi", "hello there", "good morning", "hey"],
}


@pytest.fixture(scope="module")
def classifiers(featurizer, train_and_load):
    examples = [Message(data={"text": t, "intent": i}) for i, texts in EXAMPLES.items() for t in texts]
    data = TrainingData(training_examples=featurizer.process(examples))
    return train_and_load(SentenceEmbeddingIntentClassifier, {}, "intent_classifier", data)


def test_predicts_intent_and_sorted_ranking(classifiers, featurizer, messages) -> None:
    _, loaded = classifiers
    (message,) = loaded.process(featurizer.process(messages("has my parcel been shipped yet?")))
    ranking = message.get("intent_ranking")
    assert message.get("intent")["name"] == "order_status"
    assert message.get("intent") == ranking[0]
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert {r["name"] for r in ranking} == set(EXAMPLES)
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)
    assert {"intent", "intent_ranking"} <= set(message.as_dict(only_output_properties=True))


def test_round_trip_gives_the_same_output(classifiers, featurizer, messages) -> None:
    trained, loaded = classifiers
    texts = ("good evening", "I'd like a refund for the broken mug")
    before = trained.process(featurizer.process(messages(*texts)))
    after = loaded.process(featurizer.process(messages(*texts)))
    assert [m.get("intent_ranking") for m in before] == [m.get("intent_ranking") for m in after]
    assert [m.get("intent")["name"] for m in after] == ["greet", "refund"]
