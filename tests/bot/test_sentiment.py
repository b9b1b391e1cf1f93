"""SentimentAnalyzer: trained labels on probe sentences, the score's range, persistence, output property."""

from pathlib import Path

import pytest

from nlu import sentiment as sentiment_module
from nlu.sentiment import SENTIMENT, SentimentAnalyzer, resolve_training_csv

NEGATIVE = "this is the third time my order is late, I'm furious"
POSITIVE = "thank you so much, great service"


@pytest.fixture(scope="module")
def analyzers(train_and_load, sentiment_config):
    return train_and_load(SentimentAnalyzer, sentiment_config, "sentiment")


def sentiments(analyzer, featurizer, messages, *texts):
    return [m.get(SENTIMENT) for m in analyzer.process(featurizer.process(messages(*texts)))]


def test_labels_probe_sentences(analyzers, featurizer, messages) -> None:
    _, loaded = analyzers
    negative, positive = sentiments(loaded, featurizer, messages, NEGATIVE, POSITIVE)
    assert negative["label"] == "negative" and negative["score"] < 0
    assert positive["label"] == "positive" and positive["score"] > 0


def test_score_and_confidence_ranges(analyzers, featurizer, messages) -> None:
    _, loaded = analyzers
    texts = ("ok", "where is my order?", "worst airline ever!!!", "love it", "refund", "?")
    for sentiment in sentiments(loaded, featurizer, messages, *texts):
        assert set(sentiment) == {"label", "score", "confidence"}
        assert -1.0 <= sentiment["score"] <= 1.0
        assert 1 / 3 <= sentiment["confidence"] <= 1.0
        assert sentiment["label"] in {"negative", "neutral", "positive"}


def test_persistence_round_trip(analyzers, featurizer, messages) -> None:
    trained, loaded = analyzers
    texts = (NEGATIVE, POSITIVE, "can I change my delivery address")
    before = sentiments(trained, featurizer, messages, *texts)
    assert before == sentiments(loaded, featurizer, messages, *texts)


def test_is_an_output_property(analyzers, featurizer, messages) -> None:
    _, loaded = analyzers
    (message,) = loaded.process(featurizer.process(messages(POSITIVE)))
    assert SENTIMENT in message.as_dict(only_output_properties=True)


def test_retraining_reuses_the_cached_embeddings(train_and_load, sentiment_config, analyzers) -> None:
    cache = Path(sentiment_config["embedding_cache_dir"])
    files = sorted(cache.iterdir())
    assert len(files) == 1  # written by the first training
    train_and_load(SentimentAnalyzer, sentiment_config, "sentiment_again")
    assert sorted(cache.iterdir()) == files


def test_training_csv_resolution(monkeypatch, tmp_path: Path) -> None:
    data = tmp_path / "airline_sentiment"
    data.mkdir()
    (data / "train.csv").write_text("text,sentiment\nok,neutral\n")
    monkeypatch.setenv("SUPPORTDESK_SHARED_DATA", str(tmp_path))
    assert resolve_training_csv(None) == data / "train.csv"
    assert resolve_training_csv(str(data / "train.csv")) == data / "train.csv"
    monkeypatch.delenv("SUPPORTDESK_SHARED_DATA")
    # Default: <repo>/../shared/data/..., read relative to bot/. Laid out under tmp_path, so the test does not
    # depend on where this checkout sits (a clone in /tmp has no ../shared beside it).
    bot = tmp_path / "project" / "main" / "bot"
    bot.mkdir(parents=True)
    shared = tmp_path / "project" / "shared" / "data" / "airline_sentiment"
    shared.mkdir(parents=True)
    (shared / "train.csv").write_text("text,sentiment\nok,neutral\n")
    monkeypatch.setattr(sentiment_module, "BOT_DIR", bot)
    assert resolve_training_csv(None) == shared / "train.csv"
