"""SentimentAnalyzer: trained labels on probe sentences, the score's range, persistence, output property, the
in-domain training set and its part in the training fingerprint, the per-domain models of domain
adaptation."""

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse
import yaml
from rasa.shared.exceptions import InvalidConfigException
from sklearn.linear_model import LogisticRegression

from nlu import sentiment as sentiment_module
from nlu import settings as settings_module
from nlu.sentiment import (
    AIRLINE,
    LABELS,
    SENTIMENT,
    SUPPORT,
    SentimentAnalyzer,
    augment_by_domain,
    fit_model,
    is_airline_dev,
    predict_proba,
    read_in_domain,
    resolve_in_domain,
    resolve_training_csv,
    split_by_domain,
)

ROOT = Path(__file__).resolve().parents[2]
IN_DOMAIN = ROOT / "ml" / "data" / "sentiment_train.yml"
# Written for this test, not taken from ml/data/sentiment_train.yml (test_probes_are_not_training_examples):
# problem reports without blame are neutral, dissatisfaction with the service negative (docs/labelling.md 1).
NEUTRAL_PROBLEM_REPORTS = (
    "my payment was refused even though the card is valid",
    "the app closes by itself whenever I try to view my basket",
    "I requested a new password twice and no email has come",
    "the parcel is three days late, it's a bit annoying",
    "the headlamp I got flickers and then switches off",
)
DISSATISFIED = (
    "you people have messed up my order yet again, I'm fed up",
    "this chatbot is hopeless, it keeps ignoring what I say",
    "I'm cancelling, your customer service is appalling",
    "fourth message about my refund and still no reply from you",
)

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
    assert len(files) == 2  # written by the first training: the airline subset and the in-domain set
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
    # Default: <repo>/../shared/data/.... Laid out under tmp_path, so the test does not depend on where this
    # checkout sits (a clone in /tmp has no ../shared beside it).
    shared = tmp_path / "project" / "shared" / "data" / "airline_sentiment"
    shared.mkdir(parents=True)
    (shared / "train.csv").write_text("text,sentiment\nok,neutral\n")
    monkeypatch.setattr(settings_module, "REPO_ROOT", tmp_path / "project" / "main")
    assert resolve_training_csv(None) == shared / "train.csv"
    # A relative `training_csv` is read from bot/, like every path in bot/config.yml.
    monkeypatch.setattr(sentiment_module, "BOT_DIR", tmp_path / "project" / "main" / "bot")
    assert resolve_training_csv("../../shared/data/airline_sentiment/train.csv") == shared / "train.csv"


def _normalized(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", " ".join(text.lower().split()))


def test_in_domain_set_loads_and_follows_the_label_vocabulary() -> None:
    assert resolve_in_domain(None) == IN_DOMAIN  # the default the component trains on
    texts, labels = read_in_domain(IN_DOMAIN)
    assert len(texts) >= 900
    assert set(labels) == set(LABELS)
    document = yaml.safe_load(IN_DOMAIN.read_text())
    assert document["version"] == 1
    assert all(set(example) == {"text", "sentiment"} for example in document["examples"])
    # Roughly the intended mix (about 50 % neutral, 30 % negative, 20 % positive).
    shares = {label: labels.count(label) / len(labels) for label in LABELS}
    assert 0.4 <= shares["neutral"] <= 0.6
    assert 0.2 <= shares["negative"] <= 0.4
    assert 0.1 <= shares["positive"] <= 0.3


def test_in_domain_set_shares_no_example_with_the_bot_nlu_data() -> None:
    texts, _ = read_in_domain(IN_DOMAIN)
    ours = {_normalized(t) for t in texts}
    theirs = set()
    for path in (ROOT / "bot" / "data" / "nlu").glob("*.yml"):
        for item in yaml.safe_load(path.read_text()).get("nlu", []):
            for line in str(item.get("examples", "")).splitlines():
                if line.strip().startswith("- "):
                    # Entity annotations [value](entity) read as their value.
                    theirs.add(_normalized(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.strip()[2:])))
    # Messages of punctuation only ("?") normalize to nothing and say nothing about copying.
    assert not (ours & theirs) - {""}


def test_probes_are_not_training_examples() -> None:
    texts, _ = read_in_domain(IN_DOMAIN)
    ours = {_normalized(t) for t in texts}
    assert not {_normalized(p) for p in (*NEUTRAL_PROBLEM_REPORTS, *DISSATISFIED)} & ours


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("version: 2\nexamples: [{text: hi, sentiment: neutral}]\n", "version"),
        ("version: 1\nexamples: [{text: hi, sentiment: angry}]\n", "angry"),
        ("version: 1\nexamples: [{text: '  ', sentiment: neutral}]\n", "no text"),
        (
            "version: 1\nexamples: [{text: Hi there, sentiment: neutral},"
            " {text: hi  THERE, sentiment: positive}]\n",
            "repeats",
        ),
        ("version: 1\nexamples: []\n", "no `examples`"),
    ],
)
def test_read_in_domain_refuses_a_malformed_set(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "set.yml"
    path.write_text(body)
    with pytest.raises(InvalidConfigException, match=message):
        read_in_domain(path)


def test_in_domain_set_is_part_of_the_training_fingerprint(tmp_path: Path, encoder_dir: Path) -> None:
    path = tmp_path / "set.yml"
    path.write_text("version: 1\nexamples: [{text: my card was refused, sentiment: neutral}]\n")
    config = {"encoder_dir": str(encoder_dir), "in_domain_data": str(path)}
    before = SentimentAnalyzer.fingerprint_addon(config)
    path.write_text("version: 1\nexamples: [{text: my card was refused, sentiment: negative}]\n")
    after = SentimentAnalyzer.fingerprint_addon(config)
    assert before and after and before != after
    assert SentimentAnalyzer.fingerprint_addon({**config, "in_domain_data": ""}) not in (before, after)
    with pytest.raises(InvalidConfigException, match="not found"):
        resolve_in_domain(str(tmp_path / "missing.yml"))


def test_the_bot_model_hash_covers_the_in_domain_set() -> None:
    from scripts.train_bot import model_inputs

    assert IN_DOMAIN in model_inputs()


def test_airline_dev_split_is_seeded_by_content() -> None:
    texts = [f"@airline message number {i}" for i in range(4000)]
    picked = [is_airline_dev(t) for t in texts]
    assert picked == [is_airline_dev(t) for t in texts]
    assert 0.13 <= sum(picked) / len(texts) <= 0.17


@pytest.fixture(scope="module")
def shipped(train_and_load, encoder_dir: Path) -> Any:
    """The component as bot/config.yml configures it, on all the data (the airline embeddings come from the
    project cache that `make model` fills)."""
    config = yaml.safe_load((ROOT / "bot" / "config.yml").read_text())
    (entry,) = [e for e in config["pipeline"] if e["name"] == "nlu.sentiment.SentimentAnalyzer"]
    options = {k: v for k, v in entry.items() if k != "name"}
    return train_and_load(SentimentAnalyzer, {**options, "encoder_dir": str(encoder_dir)}, "shipped")[1]


def test_problem_reports_are_neutral_and_dissatisfaction_negative(shipped, featurizer, messages) -> None:
    neutral = sentiments(shipped, featurizer, messages, *NEUTRAL_PROBLEM_REPORTS)
    negative = sentiments(shipped, featurizer, messages, *DISSATISFIED)
    assert [s["label"] for s in neutral] == ["neutral"] * len(NEUTRAL_PROBLEM_REPORTS)
    assert [s["label"] for s in negative] == ["negative"] * len(DISSATISFIED)
    # The old probes still hold on the full model.
    angry, grateful = sentiments(shipped, featurizer, messages, NEGATIVE, POSITIVE)
    assert angry["label"] == "negative" and grateful["label"] == "positive"


def test_a_loaded_model_uses_the_dense_weight_it_was_trained_with(
    analyzers, storage, sentiment_config, featurizer, messages
) -> None:
    # Rasa gives a loaded component today's defaults merged with the stored config, so a later change of the
    # default must not change the predictions of a model trained before it.
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.resource import Resource

    _, loaded = analyzers
    config = {**SentimentAnalyzer.get_default_config(), **sentiment_config}
    changed = SentimentAnalyzer.load(
        {**config, "dense_weight": config["dense_weight"] * 3},
        storage,
        Resource("train_sentiment"),
        ExecutionContext(GraphSchema({}), node_name="run_changed"),
    )
    texts = (NEGATIVE, POSITIVE, "can I change my delivery address")
    assert sentiments(changed, featurizer, messages, *texts) == sentiments(
        loaded, featurizer, messages, *texts
    )


def test_per_domain_models_equal_the_augmented_classifier() -> None:
    # The collapsed per-domain model must give exactly what the classifier fitted on the augmented features
    # gives on that domain's rows; otherwise the bot would label with a model nobody evaluated.
    rng = np.random.default_rng(0)
    x = scipy.sparse.csr_matrix(rng.normal(size=(90, 6)))
    labels = rng.choice(LABELS, size=90)
    domains = [AIRLINE if i % 3 else SUPPORT for i in range(90)]
    clf = LogisticRegression(C=0.5, max_iter=500).fit(augment_by_domain(x, domains), labels)
    models = split_by_domain(clf, x.shape[1])
    for domain in (AIRLINE, SUPPORT):
        expected = clf.predict_proba(augment_by_domain(x, [domain] * 90))
        assert np.allclose(models[domain].predict_proba(x), expected)
    assert not np.allclose(models[AIRLINE].coef_, models[SUPPORT].coef_)


def test_domain_adaptation_learns_what_differs_between_the_domains() -> None:
    # Airline rows call a reported problem negative, support rows neutral; thanks is positive in both. The
    # shared part carries the thanks, each domain's part its own reading of the problem report.
    problem, thanks = "my parcel has not arrived", "thanks a lot for the help"
    texts = [problem] * 20 + [thanks] * 20 + [problem] * 20 + [thanks] * 4
    labels = ["negative"] * 20 + ["positive"] * 20 + ["neutral"] * 20 + ["positive"] * 4
    domains = [AIRLINE] * 40 + [SUPPORT] * 24
    config = {**SentimentAnalyzer.get_default_config(), "class_weight": None}
    model = fit_model(texts, labels, None, np.ones(len(texts)), config, domains)

    def label(text: str, domain: str) -> str:
        row = predict_proba(model, [text], None, domain=domain)[0]
        return model["labels"][int(row.argmax())]

    assert label(problem, AIRLINE) == "negative" and label(problem, SUPPORT) == "neutral"
    assert label(thanks, AIRLINE) == label(thanks, SUPPORT) == "positive"
    one_domain = fit_model(texts, labels, None, np.ones(len(texts)), {**config, "domain_adaptation": False})
    assert one_domain["classifiers"][AIRLINE] is one_domain["classifiers"][SUPPORT]


def test_a_model_persisted_before_domain_adaptation_still_predicts() -> None:
    texts, labels = ["great thanks", "you are useless", "where is my order"] * 4, LABELS[::-1] * 4
    model = fit_model(texts, labels, None, np.ones(12), {**SentimentAnalyzer.get_default_config()})
    old = {**{k: v for k, v in model.items() if k != "classifiers"}, "clf": model["classifiers"][SUPPORT]}
    assert np.allclose(predict_proba(old, texts, None), predict_proba(model, texts, None))


@pytest.mark.parametrize(
    ("change", "message"),
    [({"domain": "bank"}, "domain must be"), ({"calibration": "sigmoid"}, "calibration: null")],
)
def test_domain_settings_are_checked(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConfigException, match=message):
        SentimentAnalyzer.validate_config({**SentimentAnalyzer.get_default_config(), **change})
