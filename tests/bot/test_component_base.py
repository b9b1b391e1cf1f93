"""StoredComponent, the one base of the three NLU components: what each persists, how each loads without a
trained model, and that a model archive trained before the base existed still loads and parses."""

from pathlib import Path
from typing import Any

import joblib
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.component_base import StoredComponent
from nlu.featurizer import DEFAULT_ALIAS, SentenceEncoderFeaturizer
from nlu.intent_classifier import SentenceEmbeddingIntentClassifier
from nlu.sentiment import DOMAINS, SENTIMENT, SentimentAnalyzer

ROOT = Path(__file__).resolve().parents[2]
# `make model` links the trained bot here; it may predate this base.
CURRENT_MODEL = ROOT / "var" / "models" / "current.tar.gz"


def _context(name: str) -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name=name)


def _files(storage: Any, resource: str) -> set[str]:
    with storage.read_from(Resource(resource)) as directory:
        return {p.name for p in Path(directory).iterdir()}


def test_every_component_shares_the_base() -> None:
    for component in (SentenceEncoderFeaturizer, SentenceEmbeddingIntentClassifier, SentimentAnalyzer):
        assert issubclass(component, StoredComponent)
        for method in ("create", "load", "persist", "process_training_data"):
            assert method not in vars(component), f"{component.__name__} writes its own {method}"


def test_the_intent_classifier_persists_one_joblib_dict(storage, featurizer, train_and_load) -> None:
    from rasa.shared.nlu.training_data.message import Message

    examples = [
        Message(data={"text": t, "intent": i}) for t, i in [("hi", "greet"), ("refund please", "refund")]
    ]
    train_and_load(
        SentenceEmbeddingIntentClassifier, {}, "base_intent", TrainingData(featurizer.process(examples))
    )
    assert _files(storage, "train_base_intent") == {"intent_classifier.joblib"}
    with storage.read_from(Resource("train_base_intent")) as directory:
        model = joblib.load(Path(directory) / "intent_classifier.joblib")
    assert set(model) == {"clf", "dense_dim", "sparse_dim"}
    assert model["dense_dim"] == 384


def test_the_sentiment_analyzer_persists_one_joblib_dict(storage, analyzers_resource) -> None:
    assert _files(storage, analyzers_resource) == {"sentiment.joblib"}
    with storage.read_from(Resource(analyzers_resource)) as directory:
        model = joblib.load(Path(directory) / "sentiment.joblib")
    assert set(model) == {"vectorizer", "classifiers", "labels", "dense_dim", "dense_weight"}
    assert set(model["classifiers"]) == set(DOMAINS)  # one linear model per domain (domain adaptation)


@pytest.fixture(scope="module")
def analyzers_resource(train_and_load, sentiment_config) -> str:
    train_and_load(SentimentAnalyzer, sentiment_config, "base_sentiment")
    return "train_base_sentiment"


@pytest.mark.parametrize(
    ("component", "output"), [(SentenceEmbeddingIntentClassifier, "intent"), (SentimentAnalyzer, SENTIMENT)]
)
def test_a_classifier_never_trained_loads_and_says_so(storage, messages, caplog, component, output) -> None:
    loaded = component.load(component.get_default_config(), storage, Resource("never_written"), _context("x"))
    assert "no trained model in never_written" in caplog.text
    (message,) = loaded.process(messages("where is my order"))
    if component is SentimentAnalyzer:
        assert message.get(output) is None
    else:
        assert message.get(output)["name"] is None


def test_the_featurizer_refuses_to_load_without_its_encoder(storage) -> None:
    config = SentenceEncoderFeaturizer.get_default_config()
    with pytest.raises(ValueError, match="never_written"):
        SentenceEncoderFeaturizer.load(config, storage, Resource("never_written"), _context("x"))


def test_the_featurizer_names_its_features_by_alias_or_node(storage, encoder_dir: Path, messages) -> None:
    base = {**SentenceEncoderFeaturizer.get_default_config(), "encoder_dir": str(encoder_dir)}
    unnamed = SentenceEncoderFeaturizer.create(
        {**base, FEATURIZER_CLASS_ALIAS: None}, storage, Resource("a"), _context("node")
    )
    named = SentenceEncoderFeaturizer.create(base, storage, Resource("b"), _context("node"))
    assert (unnamed._identifier, named._identifier) == ("node", DEFAULT_ALIAS)


def test_a_config_the_component_cannot_use_is_refused_at_construction(storage) -> None:
    from rasa.shared.exceptions import InvalidConfigException

    with pytest.raises(InvalidConfigException, match="C must be positive"):
        SentimentAnalyzer.create({"C": 0}, storage, Resource("c"), _context("x"))


@pytest.mark.skipif(not CURRENT_MODEL.is_file(), reason="no trained bot model: run `make model`")
def test_the_trained_bot_model_still_loads_and_parses() -> None:
    import asyncio

    from rasa.core.agent import Agent

    agent = Agent.load(str(CURRENT_MODEL))
    parse = asyncio.run(agent.parse_message("where is my order A12345"))
    assert parse["intent"]["name"] and parse["intent"]["confidence"] > 0
    assert parse[SENTIMENT]["label"] in {"negative", "neutral", "positive"}
