"""`SentimentAnalyzer`: a trained sentiment model that adds `sentiment` to every parsed message.

    {"label": "negative" | "neutral" | "positive", "score": P(positive) - P(negative), "confidence": P(label)}

`sentiment` means the customer's attitude towards the company, its service, its staff or the bot (the rules
of docs/labelling.md, section 1): a problem being reported is `neutral` unless it blames the service. The
model is a logistic regression over TF-IDF word and character n-grams plus the MiniLM sentence embedding,
trained on two sets together:

- customer messages to airlines (the shared airline_sentiment CSV), for breadth of vocabulary and tone. On
  those, a problem report and anger at the airline look alike, which is why they alone are not enough;
- the in-domain support messages of ml/data/sentiment_train.yml (labelled by the rules above), each weighing
  `in_domain_weight` airline rows.

With `domain_adaptation` (on by default) the two sets are two domains, by feature augmentation (Daume III,
"Frustratingly easy domain adaptation", 2007): each row's features appear twice, once in a block shared by
both domains and once in its own domain's block, plus one indicator per domain. What both sets agree on
(thanks is positive, insults are negative) is learnt in the shared block from all the rows; what holds in one
domain only (a cancelled flight reported is negative on airline tweets, a problem reported is neutral in
support) goes into that domain's block, so neither set has to pull the other's decision boundary towards its
own. After training, the shared weights and each domain's weights are added into one linear model per domain,
so prediction costs what a single logistic regression costs. The bot labels its messages with the `support`
model; the `airline` one exists to show on the airline test split that the shared part still knows general
sentiment.

Its probabilities are checked for calibration on held-out data (scripts/eval_sentiment.py reports the expected
calibration error), so `score` and `confidence` mean what they say.

At inference the embedding is the one SentenceEncoderFeaturizer already put on the message; at train time the
training texts are encoded with the same exported encoder, and those embeddings are cached on disk by content
hash because encoding 11.7k texts takes minutes on a small CPU and Rasa retrains this node whenever bot/data
changes.

The key is added to the message's output properties, so it appears in /model/parse and in the tracker's
`UserUttered.parse_data`.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import logging
import os
import random
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse
import yaml
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from nlu.component_base import StoredComponent
from nlu.featurizer import (
    BOT_DIR,
    DEFAULT_ALIAS,
    SentenceEncoderFeaturizer,
    encoder_fingerprint,
    resolve_encoder_dir,
    sentence_vector,
)
from nlu.sentence_encoder import SentenceEncoder
from nlu.settings import SHARED_DATA, bot_settings

logger = logging.getLogger(__name__)

SENTIMENT = "sentiment"
LABELS = ("negative", "neutral", "positive")
# The two training sources, each its own domain under `domain_adaptation`; the bot's messages are `support`.
AIRLINE, SUPPORT = "airline", "support"
DOMAINS = (AIRLINE, SUPPORT)
# Relative to bot/, like every path in bot/config.yml.
DEFAULT_IN_DOMAIN = "../ml/data/sentiment_train.yml"
IN_DOMAIN_VERSION = 1
# The airline dev split: rows whose salted text hash falls below the fraction. By content, not by row number,
# so it does not move when the CSV is reordered, and a text repeated in the CSV is never on both sides.
AIRLINE_DEV_SALT = "supportdesk-airline-dev-v1"
AIRLINE_DEV_FRACTION = 0.15
_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"@\w+")


def normalize_text(text: str) -> str:
    """Lower-cased, with URLs and @handles collapsed: the airline tweets name the airline in every message,
    which says nothing about sentiment and must not be learned as if it did."""
    return _HANDLE.sub("@user", _URL.sub(" url ", text)).lower()


def resolve_training_csv(configured: str | None) -> Path:
    """`training_csv` from the config (absolute, or relative to bot/), else airline_sentiment/train.csv in the
    shared data folder (nlu/settings.py: $SUPPORTDESK_SHARED_DATA, or ../shared/data beside the checkout)."""
    if configured:
        path = Path(configured).expanduser()
    else:
        path = bot_settings().shared_data_dir / "airline_sentiment" / "train.csv"
    path = path if path.is_absolute() else (BOT_DIR / path).resolve()
    if not path.is_file():
        raise InvalidConfigException(
            f"SentimentAnalyzer: training CSV '{path}' not found; set `training_csv` in bot/config.yml or "
            f"{SHARED_DATA} to the shared data folder (the one holding airline_sentiment/)."
        )
    return path


def resolve_in_domain(configured: str | None) -> Path | None:
    """`in_domain_data` from the config (absolute, or relative to bot/); None = ml/data/sentiment_train.yml;
    "" = train on the airline CSV alone. A configured file that is missing is an error, not a silent fallback:
    the model would quietly go back to calling every problem report negative."""
    if configured == "":
        return None
    path = Path(configured or DEFAULT_IN_DOMAIN).expanduser()
    path = path if path.is_absolute() else (BOT_DIR / path).resolve()
    if not path.is_file():
        raise InvalidConfigException(
            f"SentimentAnalyzer: in-domain sentiment set '{path}' not found; set `in_domain_data` in "
            'bot/config.yml ("" trains on the airline CSV alone).'
        )
    return path


def read_training_rows(
    path: Path, text_column: str, label_column: str, max_rows: int | None, seed: int
) -> tuple[list[str], list[str]]:
    """Texts and labels of the CSV; a seeded random subset of `max_rows` when set (tests use small ones)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [(r[text_column], r[label_column].strip().lower()) for r in csv.DictReader(handle)]
    unknown = {label for _, label in rows} - set(LABELS)
    if unknown:
        raise InvalidConfigException(f"SentimentAnalyzer: unexpected labels {sorted(unknown)} in {path}")
    if max_rows and max_rows < len(rows):
        rows = random.Random(seed).sample(rows, max_rows)
    return [t for t, _ in rows], [label for _, label in rows]


def read_in_domain(path: Path) -> tuple[list[str], list[str]]:
    """Texts and labels of an in-domain set: `version: 1`, `examples: [{text, sentiment}, ...]`.

    Refuses what would silently skew training or the grouped cross-validation: another version, a label
    outside LABELS, an empty text, or the same text twice."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(document, dict) or document.get("version") != IN_DOMAIN_VERSION:
        raise InvalidConfigException(f"SentimentAnalyzer: {path} must have `version: {IN_DOMAIN_VERSION}`")
    examples = document.get("examples")
    if not isinstance(examples, list) or not examples:
        raise InvalidConfigException(f"SentimentAnalyzer: {path} has no `examples` list")
    texts: list[str] = []
    labels: list[str] = []
    seen: set[str] = set()
    for number, example in enumerate(examples, start=1):
        text = example.get("text") if isinstance(example, dict) else None
        label = example.get("sentiment") if isinstance(example, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise InvalidConfigException(f"SentimentAnalyzer: example {number} of {path} has no text")
        if label not in LABELS:
            raise InvalidConfigException(
                f"SentimentAnalyzer: example {number} of {path} has sentiment {label!r}, not one of {LABELS}"
            )
        key = " ".join(text.lower().split())
        if key in seen:
            raise InvalidConfigException(f"SentimentAnalyzer: {path} repeats the text {text!r}")
        seen.add(key)
        texts.append(text)
        labels.append(label)
    return texts, labels


def is_airline_dev(text: str, fraction: float = AIRLINE_DEV_FRACTION) -> bool:
    """Whether an airline training row belongs to the dev split (about `fraction` of the rows)."""
    digest = hashlib.sha256(f"{AIRLINE_DEV_SALT}:{text}".encode()).digest()
    return int.from_bytes(digest[:4], "big") < fraction * 2**32


def build_vectorizer() -> FeatureUnion:
    """TF-IDF of word 1-2-grams and character 2-5-grams (robust to the typos and elongations of chat)."""
    options = {"preprocessor": normalize_text, "sublinear_tf": True, "min_df": 2, "dtype": np.float32}
    return FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2), **options)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), **options)),
        ]
    )


def stack_features(tfidf: Any, dense: np.ndarray | None, dense_weight: float) -> scipy.sparse.csr_matrix:
    """[word TF-IDF | char TF-IDF | dense_weight * embedding]; each block has unit L2 norm per row."""
    if dense is None:
        return scipy.sparse.csr_matrix(tfidf)
    return scipy.sparse.hstack([tfidf, scipy.sparse.csr_matrix(dense_weight * dense)]).tocsr()


def augment_by_domain(x: scipy.sparse.csr_matrix, domains: Sequence[str]) -> scipy.sparse.csr_matrix:
    """[x | x on airline rows, else 0 | x on support rows, else 0 | airline indicator | support indicator]."""
    blocks: list[Any] = [x]
    indicators = [np.array([d == domain for d in domains], dtype=np.float32) for domain in DOMAINS]
    blocks += [scipy.sparse.diags(mask) @ x for mask in indicators]
    blocks += [scipy.sparse.csr_matrix(mask.reshape(-1, 1)) for mask in indicators]
    return scipy.sparse.hstack(blocks).tocsr()


def split_by_domain(clf: LogisticRegression, width: int) -> dict[str, LogisticRegression]:
    """One logistic regression per domain from the classifier fitted on `augment_by_domain` features of
    `width` columns: shared weights plus that domain's weights, intercept plus that domain's indicator."""
    shared, extra = clf.coef_[:, :width], clf.coef_[:, width:]
    models = {}
    for number, domain in enumerate(DOMAINS):
        model = copy.deepcopy(clf)
        model.coef_ = shared + extra[:, number * width : (number + 1) * width]
        model.intercept_ = clf.intercept_ + extra[:, len(DOMAINS) * width + number]
        model.n_features_in_ = width
        models[domain] = model
    return models


def build_classifier(config: dict[str, Any]) -> Any:
    lr = LogisticRegression(
        C=float(config["C"]),
        max_iter=2000,
        class_weight=config["class_weight"],
        random_state=config["random_state"],
    )
    if not config["calibration"]:
        return lr
    return CalibratedClassifierCV(lr, method=config["calibration"], cv=int(config["calibration_folds"]))


def fit_model(
    texts: Sequence[str],
    labels: Sequence[str],
    dense: np.ndarray | None,
    weights: np.ndarray,
    config: dict[str, Any],
    domains: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The trained model {"vectorizer", "classifiers" (by domain), "labels", "dense_dim", "dense_weight"}:
    what the component persists, and what the evaluation fits directly for its cross-validation (so both
    measure this code). `domains`: each row's domain (None: all airline); read when domain_adaptation."""
    vectorizer = build_vectorizer()
    x = stack_features(vectorizer.fit_transform(texts), dense, float(config["dense_weight"]))
    if config["domain_adaptation"]:
        rows = list(domains) if domains is not None else [AIRLINE] * len(texts)
        clf = build_classifier(config).fit(augment_by_domain(x, rows), list(labels), sample_weight=weights)
        classifiers = split_by_domain(clf, x.shape[1])
    else:
        clf = build_classifier(config).fit(x, list(labels), sample_weight=weights)
        classifiers = dict.fromkeys(DOMAINS, clf)
    return {
        "vectorizer": vectorizer,
        "classifiers": classifiers,
        "labels": [str(c) for c in clf.classes_],
        "dense_dim": dense.shape[1] if dense is not None else 0,
        # Stored with the weights it was trained with: Rasa hands a loaded model the config of today's code
        # defaults, which need not be those of the training run.
        "dense_weight": float(config["dense_weight"]),
    }


def predict_proba(
    model: dict[str, Any],
    texts: Sequence[str],
    dense: np.ndarray | None,
    dense_weight: float | None = None,
    domain: str = SUPPORT,
) -> np.ndarray:
    """P(label) per text by `domain`'s model, columns in the order of model["labels"]. `dense_weight` only for
    models persisted before it was stored in them; those have one classifier ("clf") for every domain."""
    weight = model.get("dense_weight", dense_weight)
    if dense is not None and weight is None:
        raise ValueError("predict_proba: the model does not say its dense_weight; pass it")
    x = stack_features(model["vectorizer"].transform(texts), dense, float(weight or 0.0))
    clf = model["classifiers"][domain] if "classifiers" in model else model["clf"]
    return clf.predict_proba(x)


def sentiment_of(labels: Sequence[str], probabilities: np.ndarray) -> dict[str, Any]:
    """The output contract {"label", "score", "confidence"} of one row of probabilities."""
    by_label = dict(zip(labels, (float(p) for p in probabilities), strict=True))
    label = max(by_label, key=by_label.__getitem__)
    score = by_label.get("positive", 0.0) - by_label.get("negative", 0.0)
    return {
        "label": label,
        "score": round(max(-1.0, min(1.0, score)), 4),
        "confidence": round(by_label[label], 4),
    }


def cache_dir(configured: str | None) -> Path:
    if configured:
        return Path(configured).expanduser()
    return bot_settings().cache_dir / "sentiment-embeddings"


def embed_texts(
    texts: Sequence[str], encoder_dir: str | None, model: str | None, cache: str | None, name: str
) -> np.ndarray:
    """Embeddings of `texts` with the pipeline's encoder, cached by content (encoder identity and the texts)
    in `cache` (None = $SUPPORTDESK_CACHE/sentiment-embeddings; "" = no cache)."""
    directory = resolve_encoder_dir(encoder_dir)
    key_source = "\n".join([encoder_fingerprint(str(directory), model) or "", *texts])
    folder = cache_dir(cache) if cache != "" else None
    cached = folder / f"{hashlib.sha256(key_source.encode()).hexdigest()[:24]}.npy" if folder else None
    if cached is not None and cached.is_file():
        logger.info("SentimentAnalyzer: embeddings of %s from cache %s", name, cached)
        return np.load(cached)
    started = time.monotonic()
    vectors = SentenceEncoder.from_dir(directory, model=model).encode(list(texts))
    logger.info("SentimentAnalyzer: encoded %d texts in %.0f s", len(texts), time.monotonic() - started)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(partial, vectors)
        partial.replace(cached)  # atomic: a concurrent reader never sees half a file
    return vectors


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentimentAnalyzer(StoredComponent):
    """Adds `sentiment` (label, score in [-1, 1], confidence) to every message with a text.

    Its model: {"vectorizer", "classifiers", "labels", "dense_dim", "dense_weight"} (`fit_model`)."""

    MODEL_FILE = "sentiment.joblib"
    WITHOUT_MODEL = "no sentiment will be added"

    @classmethod
    def required_components(cls) -> list[type]:
        return [SentenceEncoderFeaturizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # CSV with a text and a sentiment column; None = $SUPPORTDESK_SHARED_DATA or the default layout.
            "training_csv": None,
            "text_column": "text",
            "label_column": "sentiment",
            # A seeded subset of the CSV (None = all rows); for fast tests.
            "max_training_rows": None,
            # Leave the airline dev split out of training: only scripts/eval_sentiment.py sets it, to report a
            # dev figure from a model that never saw those rows.
            "exclude_airline_dev": False,
            # The in-domain set (version 1 YAML); None = ml/data/sentiment_train.yml, "" = none.
            "in_domain_data": None,
            # Sample weight of one in-domain example, an airline row weighing 1. It, C, dense_weight and
            # domain_adaptation were chosen on dev data only (docs/benchmarks.md, "Sentiment"): without
            # domain adaptation more weight gained little in-domain and cost airline F1, as a problem report
            # and anger look alike on airline tweets.
            "in_domain_weight": 1.0,
            # Use the sentence embedding of SentenceEncoderFeaturizer (looked up by its alias).
            "use_sentence_features": True,
            "featurizer_alias": DEFAULT_ALIAS,
            # Encoder to embed the training texts at train time: must be the export the featurizer packages.
            "encoder_dir": None,
            "model": None,
            # Weight of the unit-length embedding next to the unit-length TF-IDF blocks.
            "dense_weight": 1.0,
            # With domain_adaptation a domain's weights are the sum of two L2-penalised parts, so a given C
            # regularises less than the same C on one block.
            "C": 1.0,
            # Extra calibration by cross-validation: "sigmoid", "isotonic" or None. Off: the class-balanced
            # logistic regression is already calibrated on the dev data (ECE in docs/benchmarks.md).
            "calibration": None,
            "calibration_folds": 3,
            "class_weight": "balanced",
            "random_state": 42,
            # Airline tweets and support messages as two domains (feature augmentation, module docstring).
            "domain_adaptation": True,
            # Whose model labels the messages: "support" in the bot; scripts/eval_sentiment.py loads the
            # trained component with "airline" to score the airline test split.
            "domain": SUPPORT,
            # Where embeddings are cached (None = $SUPPORTDESK_CACHE/sentiment-embeddings); "" disables.
            "embedding_cache_dir": None,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if config["calibration"] not in (None, "sigmoid", "isotonic"):
            raise InvalidConfigException("SentimentAnalyzer: calibration must be sigmoid, isotonic or null")
        if float(config["C"]) <= 0:
            raise InvalidConfigException("SentimentAnalyzer: C must be positive")
        if float(config["in_domain_weight"]) < 0:
            raise InvalidConfigException("SentimentAnalyzer: in_domain_weight must not be negative")
        if config["domain"] not in DOMAINS:
            raise InvalidConfigException(f"SentimentAnalyzer: domain must be one of {DOMAINS}")
        if config["domain_adaptation"] and config["calibration"]:
            # The per-domain models are read off one logistic regression's weights; a calibrated ensemble
            # has no such weights.
            raise InvalidConfigException("SentimentAnalyzer: domain_adaptation needs calibration: null")

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        # The CSV, the in-domain set and the encoder live outside the graph; retrain when any of them changes.
        merged = {**cls.get_default_config(), **config}
        try:
            csv_hash = hashlib.sha256(resolve_training_csv(merged["training_csv"]).read_bytes()).hexdigest()
            in_domain = resolve_in_domain(merged["in_domain_data"])
        except InvalidConfigException:
            return None
        in_domain_hash = hashlib.sha256(in_domain.read_bytes()).hexdigest() if in_domain else ""
        encoder = (
            encoder_fingerprint(merged["encoder_dir"], merged["model"])
            if merged["use_sentence_features"]
            else ""
        )
        return f"{csv_hash}:{in_domain_hash}:{encoder}"

    def train(self, training_data: TrainingData) -> Resource:
        """Trains on the airline CSV and the in-domain set; the bot's NLU `training_data` carries no sentiment
        labels."""
        started = time.monotonic()
        path = resolve_training_csv(self.config["training_csv"])
        texts, labels = read_training_rows(
            path,
            self.config["text_column"],
            self.config["label_column"],
            self.config["max_training_rows"],
            self.config["random_state"],
        )
        # The whole CSV (or subset) is embedded and cached as one piece before the dev rows are dropped, so
        # the dev-excluding evaluation run reuses the cache of the normal training.
        dense = self._embed(texts, path.name) if self.config["use_sentence_features"] else None
        if self.config["exclude_airline_dev"]:
            keep = [not is_airline_dev(t) for t in texts]
            texts = [t for t, k in zip(texts, keep, strict=True) if k]
            labels = [y for y, k in zip(labels, keep, strict=True) if k]
            dense = dense[np.array(keep)] if dense is not None else None
        airline_rows = len(texts)
        in_domain = resolve_in_domain(self.config["in_domain_data"])
        if in_domain is not None:
            domain_texts, domain_labels = read_in_domain(in_domain)
            if dense is not None:
                dense = np.vstack([dense, self._embed(domain_texts, in_domain.name)])
            texts, labels = texts + domain_texts, labels + domain_labels
        weights = np.ones(len(texts))
        weights[airline_rows:] = float(self.config["in_domain_weight"])
        domains = [AIRLINE] * airline_rows + [SUPPORT] * (len(texts) - airline_rows)
        self._model = fit_model(texts, labels, dense, weights, self.config, domains)
        self.persist()
        logger.info(
            "SentimentAnalyzer: trained on %d rows of %s and %d in-domain examples in %.0f s",
            airline_rows,
            path,
            len(texts) - airline_rows,
            time.monotonic() - started,
        )
        return self._resource

    def _embed(self, texts: list[str], name: str) -> np.ndarray:
        return embed_texts(
            texts, self.config["encoder_dir"], self.config["model"], self.config["embedding_cache_dir"], name
        )

    def process(self, messages: list[Message]) -> list[Message]:
        with_text = [m for m in messages if m.get(TEXT)]
        if not with_text or self._model is None:
            return messages
        probabilities = predict_proba(
            self._model,
            [m.get(TEXT) for m in with_text],
            self._message_embeddings(with_text) if self._model["dense_dim"] else None,
            float(self.config["dense_weight"]),
            self.config["domain"],
        )
        for message, row in zip(with_text, probabilities, strict=True):
            message.set(SENTIMENT, sentiment_of(self._model["labels"], row), add_to_output=True)
        return messages

    def _message_embeddings(self, messages: list[Message]) -> np.ndarray:
        rows = []
        for message in messages:
            vector = sentence_vector(message, self.config["featurizer_alias"])
            if vector is None:
                # Not expected with SentenceEncoderFeaturizer in the pipeline; degrade, do not fail the turn.
                logger.warning(
                    "SentimentAnalyzer: no '%s' sentence feature on a message",
                    self.config["featurizer_alias"],
                )
                rows.append(np.zeros(self._model["dense_dim"], dtype=np.float32))
            else:
                rows.append(vector)
        return np.vstack(rows)
