"""`SentimentAnalyzer`: a trained sentiment model that adds `sentiment` to every parsed message.

    {"label": "negative" | "neutral" | "positive", "score": P(positive) - P(negative), "confidence": P(label)}

It is trained on customer messages to airlines (the shared airline_sentiment CSV, not the bot's NLU data):
logistic regression over TF-IDF word and character n-grams plus the MiniLM sentence embedding. Its
probabilities are checked for calibration on the held-out split (scripts/eval_sentiment.py reports the
expected calibration error), so `score` and `confidence` mean what they say; optional cross-validated
calibration is available but off by default because it measured worse.

At inference the embedding is the one SentenceEncoderFeaturizer already put on the message; at train time the
CSV texts are encoded with the same exported encoder, and those embeddings are cached on disk by content hash
because encoding 11.7k texts takes minutes on a small CPU and Rasa retrains this node whenever bot/data
changes.

The key is added to the message's output properties, so it appears in /model/parse and in the tracker's
`UserUttered.parse_data`.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import random
import re
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from nlu.featurizer import (
    BOT_DIR,
    DEFAULT_ALIAS,
    SentenceEncoderFeaturizer,
    encoder_fingerprint,
    resolve_encoder_dir,
)
from nlu.sentence_encoder import SentenceEncoder

logger = logging.getLogger(__name__)

SENTIMENT = "sentiment"
LABELS = ("negative", "neutral", "positive")
MODEL_FILE = "sentiment.joblib"
SHARED_DATA_ENV = "SUPPORTDESK_SHARED_DATA"
DEFAULT_CSV = "../../shared/data/airline_sentiment/train.csv"
_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"@\w+")


def normalize_text(text: str) -> str:
    """Lower-cased, with URLs and @handles collapsed: the airline tweets name the airline in every message,
    which says nothing about sentiment and must not be learned as if it did."""
    return _HANDLE.sub("@user", _URL.sub(" url ", text)).lower()


def resolve_training_csv(configured: str | None) -> Path:
    """`training_csv` from the config (absolute, or relative to bot/), else $SUPPORTDESK_SHARED_DATA, else
    ../../shared/data/... relative to bot/ (the layout <somewhere>/main beside <somewhere>/shared)."""
    if configured:
        path = Path(configured).expanduser()
    elif os.environ.get(SHARED_DATA_ENV):
        path = Path(os.environ[SHARED_DATA_ENV]).expanduser() / "airline_sentiment" / "train.csv"
    else:
        path = Path(DEFAULT_CSV)
    path = path if path.is_absolute() else (BOT_DIR / path).resolve()
    if not path.is_file():
        raise InvalidConfigException(
            f"SentimentAnalyzer: training CSV '{path}' not found; set `training_csv` in bot/config.yml or "
            f"{SHARED_DATA_ENV} to the shared data folder (the one holding airline_sentiment/)."
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


def build_vectorizer() -> FeatureUnion:
    """TF-IDF of word 1-2-grams and character 2-5-grams (robust to the typos and elongations of chat)."""
    options = {"preprocessor": normalize_text, "sublinear_tf": True, "min_df": 2, "dtype": np.float32}
    return FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2), **options)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), **options)),
        ]
    )


def cache_dir(configured: str | None) -> Path:
    if configured:
        return Path(configured).expanduser()
    root = os.environ.get("SUPPORTDESK_CACHE") or Path.home() / ".cache" / "supportdesk"
    return Path(root) / "sentiment-embeddings"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentimentAnalyzer(GraphComponent):
    """Adds `sentiment` (label, score in [-1, 1], confidence) to every message with a text."""

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
            # Use the sentence embedding of SentenceEncoderFeaturizer (looked up by its alias).
            "use_sentence_features": True,
            "featurizer_alias": DEFAULT_ALIAS,
            # Encoder to embed the CSV at train time: must be the export the featurizer packages.
            "encoder_dir": None,
            "model": None,
            # Weight of the unit-length embedding next to the unit-length TF-IDF blocks.
            "dense_weight": 1.5,
            "C": 2.0,
            # Extra calibration by cross-validation: "sigmoid", "isotonic" or None. Off: on the airline test
            # split the plain (class-balanced) logistic regression has an expected calibration error of
            # about 0.015, and sigmoid calibration raised it to 0.058 at three times the training cost.
            "calibration": None,
            "calibration_folds": 3,
            "class_weight": "balanced",
            "random_state": 42,
            # Where CSV embeddings are cached (None = $SUPPORTDESK_CACHE/sentiment-embeddings); "" disables.
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

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        # The CSV and the encoder live outside the graph; retrain when either changes.
        merged = {**cls.get_default_config(), **config}
        try:
            csv_hash = hashlib.sha256(resolve_training_csv(merged["training_csv"]).read_bytes()).hexdigest()
        except InvalidConfigException:
            return None
        encoder = (
            encoder_fingerprint(merged["encoder_dir"], merged["model"])
            if merged["use_sentence_features"]
            else ""
        )
        return f"{csv_hash}:{encoder}"

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: dict[str, Any] | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self.validate_config(self.config)
        self._model_storage = model_storage
        self._resource = resource
        # {"vectorizer", "clf", "labels", "dense_dim"} once trained.
        self._model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentimentAnalyzer:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Trains on the sentiment CSV; the bot's NLU `training_data` carries no sentiment labels."""
        started = time.monotonic()
        path = resolve_training_csv(self.config["training_csv"])
        texts, labels = read_training_rows(
            path,
            self.config["text_column"],
            self.config["label_column"],
            self.config["max_training_rows"],
            self.config["random_state"],
        )
        dense = self._embed(path, texts) if self.config["use_sentence_features"] else None
        vectorizer = build_vectorizer()
        x = self._stack(vectorizer.fit_transform(texts), dense)
        clf = self._classifier().fit(x, labels)
        self._model = {
            "vectorizer": vectorizer,
            "clf": clf,
            "labels": [str(c) for c in clf.classes_],
            "dense_dim": dense.shape[1] if dense is not None else 0,
        }
        self.persist()
        logger.info(
            "SentimentAnalyzer: trained on %d rows of %s in %.0f s",
            len(texts),
            path,
            time.monotonic() - started,
        )
        return self._resource

    def _classifier(self) -> Any:
        lr = LogisticRegression(
            C=float(self.config["C"]),
            max_iter=2000,
            class_weight=self.config["class_weight"],
            random_state=self.config["random_state"],
        )
        if not self.config["calibration"]:
            return lr
        return CalibratedClassifierCV(
            lr, method=self.config["calibration"], cv=int(self.config["calibration_folds"])
        )

    def _stack(self, tfidf: Any, dense: np.ndarray | None) -> scipy.sparse.csr_matrix:
        """[word TF-IDF | char TF-IDF | dense_weight * embedding]; each block has unit L2 norm per row."""
        if dense is None:
            return scipy.sparse.csr_matrix(tfidf)
        return scipy.sparse.hstack(
            [tfidf, scipy.sparse.csr_matrix(self.config["dense_weight"] * dense)]
        ).tocsr()

    def _embed(self, path: Path, texts: list[str]) -> np.ndarray:
        """Embeddings of the training texts with the pipeline's encoder, cached by content."""
        directory = resolve_encoder_dir(self.config["encoder_dir"])
        key_source = "\n".join([encoder_fingerprint(str(directory), self.config["model"]) or "", *texts])
        cache = (
            cache_dir(self.config["embedding_cache_dir"])
            if self.config["embedding_cache_dir"] != ""
            else None
        )
        cached = cache / f"{hashlib.sha256(key_source.encode()).hexdigest()[:24]}.npy" if cache else None
        if cached is not None and cached.is_file():
            logger.info("SentimentAnalyzer: embeddings of %s from cache %s", path.name, cached)
            return np.load(cached)
        started = time.monotonic()
        vectors = SentenceEncoder.from_dir(directory, model=self.config["model"]).encode(texts)
        logger.info("SentimentAnalyzer: encoded %d texts in %.0f s", len(texts), time.monotonic() - started)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(partial, vectors)
            partial.replace(cached)  # atomic: a concurrent reader never sees half a file
        return vectors

    def process(self, messages: list[Message]) -> list[Message]:
        with_text = [m for m in messages if m.get(TEXT)]
        if not with_text or self._model is None:
            return messages
        x = self._stack(
            self._model["vectorizer"].transform([m.get(TEXT) for m in with_text]),
            self._message_embeddings(with_text) if self._model["dense_dim"] else None,
        )
        probabilities = self._model["clf"].predict_proba(x)
        for message, row in zip(with_text, probabilities, strict=True):
            message.set(SENTIMENT, self._sentiment(row), add_to_output=True)
        return messages

    def _message_embeddings(self, messages: list[Message]) -> np.ndarray:
        rows = []
        for message in messages:
            feature = message.get_dense_features(TEXT, [self.config["featurizer_alias"]])[1]
            if feature is None:
                # Not expected with SentenceEncoderFeaturizer in the pipeline; degrade, do not fail the turn.
                logger.warning(
                    "SentimentAnalyzer: no '%s' sentence feature on a message",
                    self.config["featurizer_alias"],
                )
                rows.append(np.zeros(self._model["dense_dim"], dtype=np.float32))
            else:
                rows.append(np.asarray(feature.features, dtype=np.float32).reshape(-1))
        return np.vstack(rows)

    def _sentiment(self, probabilities: np.ndarray) -> dict[str, Any]:
        by_label = dict(zip(self._model["labels"], (float(p) for p in probabilities), strict=True))
        label = max(by_label, key=by_label.__getitem__)
        score = by_label.get("positive", 0.0) - by_label.get("negative", 0.0)
        return {
            "label": label,
            "score": round(max(-1.0, min(1.0, score)), 4),
            "confidence": round(by_label[label], 4),
        }

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump(self._model, Path(directory) / MODEL_FILE)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentimentAnalyzer:
        try:
            with model_storage.read_from(resource) as directory:
                path = Path(directory) / MODEL_FILE
                model = joblib.load(path) if path.is_file() else None
        except ValueError:  # no resource: the component was never trained
            model = None
        if model is None:
            logger.warning(
                "SentimentAnalyzer: no trained model in %s; no sentiment will be added", resource.name
            )
        return cls(config, model_storage, resource, model)
