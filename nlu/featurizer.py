"""`SentenceEncoderFeaturizer`: adds the all-MiniLM-L6-v2 sentence embedding (384-d) to every message.

Only the sentence-level feature is added. The components after it in bot/config.yml (the intent classifier,
the sentiment analyzer) read sentence features only, and CRFEntityExtractor reads dense token features only
when its `features` list asks for `text_dense_features`, which ours does not. MiniLM's word-piece vectors
would also need aligning to Rasa's whitespace tokens for no measured gain.

At train time the exported encoder (see nlu/encoder_export.py) is copied from `encoder_dir` (default: the env
var SUPPORTDESK_ENCODER_DIR, read by nlu/settings.py) into Rasa's model storage, so the trained model archive
is self-contained and the Rasa server needs no path to the export at run time.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu import settings
from nlu.component_base import StoredComponent
from nlu.sentence_encoder import (
    DEFAULT_BATCH_SIZE,
    EncoderNotFoundError,
    SentenceEncoder,
    files_of,
    identity,
    read_manifest,
)

logger = logging.getLogger(__name__)

# nlu/ sits beside bot/ in the repository; relative paths in bot/config.yml are read from bot/.
BOT_DIR = Path(__file__).resolve().parent.parent / "bot"
# The origin name of our features; later components (sentiment) look the features up by it.
DEFAULT_ALIAS = "sentence_encoder"


def sentence_vector(message: Message, alias: str = DEFAULT_ALIAS) -> np.ndarray | None:
    """The sentence feature `alias` added to the message's TEXT, flat float32; None when it has none. For the
    components after the featurizer that read it (nlu/sentiment.py, nlu/embedding_in_parse.py)."""
    feature = message.get_dense_features(TEXT, [alias])[1]
    return None if feature is None else np.asarray(feature.features, dtype=np.float32).reshape(-1)


def resolve_encoder_dir(configured: str | None) -> Path:
    """The export directory from the config (relative to bot/) or the environment, with an actionable error
    when it is absent."""
    value = configured or settings.bot_settings().encoder_dir
    if not value:
        raise EncoderNotFoundError(
            "No sentence encoder configured: set `encoder_dir` in config.yml or the env var "
            f"{settings.ENCODER_DIR} to the ONNX export directory (run `make encoder`, or "
            "`python -m nlu.encoder_export --out DIR` in the app venv)."
        )
    directory = Path(value).expanduser()
    if configured and not directory.is_absolute():
        directory = BOT_DIR / directory
    if not directory.is_dir():
        raise EncoderNotFoundError(
            f"Sentence encoder directory '{directory}' does not exist: run `make encoder` (or "
            f"`python -m nlu.encoder_export --out {directory}` in the app venv)."
        )
    read_manifest(directory)  # raises with the same advice when the export is incomplete
    return directory


def encoder_fingerprint(configured: str | None, model: str | None = None) -> str | None:
    """Identifies the encoder (graph, tokenizer, pooling) for Rasa's training cache and embedding caches."""
    try:
        return identity(resolve_encoder_dir(configured), model)
    except EncoderNotFoundError:
        return None  # training will stop with the clear error; nothing to cache


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SentenceEncoderFeaturizer(StoredComponent, DenseFeaturizer):
    """Dense sentence features from the ONNX export of all-MiniLM-L6-v2. Its model is the `SentenceEncoder`;
    what it persists is the export's files."""

    # Every later component reads its features: a model without them must not load.
    MODEL_REQUIRED = True

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            FEATURIZER_CLASS_ALIAS: DEFAULT_ALIAS,
            # Export directory used at TRAIN time; None means the env var SUPPORTDESK_ENCODER_DIR.
            "encoder_dir": None,
            # ONNX file inside the export to use; None means the one the export's manifest chooses.
            "model": None,
            "batch_size": DEFAULT_BATCH_SIZE,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["onnxruntime", "tokenizers"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config.get("batch_size", DEFAULT_BATCH_SIZE)) < 1:
            raise InvalidConfigException("SentenceEncoderFeaturizer: batch_size must be at least 1")

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        # The export lives outside the graph: without this a new export would reuse a cached old resource.
        merged = {**cls.get_default_config(), **config}
        return encoder_fingerprint(merged["encoder_dir"], merged["model"])

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: SentenceEncoder | None = None,
        name: str = "",
    ) -> None:
        super().__init__(config, model_storage, resource, model, name)
        # Rasa's featurizer base keeps the alias its features are stored under.
        DenseFeaturizer.__init__(self, name, self.config)
        self._source: Path | None = None

    def train(self, training_data: TrainingData) -> Resource:
        """Copies the export into the model storage; the encoder itself is pre-trained and not tuned."""
        # Resolved before the resource is opened, so a missing export leaves no empty resource behind.
        self._source = resolve_encoder_dir(self.config["encoder_dir"])
        self.persist()
        return self._resource

    def write_model(self, directory: Path) -> None:
        source = self._source or resolve_encoder_dir(self.config["encoder_dir"])
        for path in files_of(source):
            shutil.copyfile(path, directory / path.name)
        if self.config["model"]:
            shutil.copyfile(source / self.config["model"], directory / self.config["model"])
        logger.info("SentenceEncoderFeaturizer: packaged the encoder from %s", source)

    @classmethod
    def read_model(cls, directory: Path, config: dict[str, Any]) -> SentenceEncoder:
        """The encoder packaged at train time, loaded now: the archive's files are gone after loading."""
        return SentenceEncoder.from_dir(
            directory, model=config["model"], batch_size=int(config["batch_size"])
        )

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds the sentence feature of TEXT to every message that has a text."""
        with_text = [m for m in messages if m.get(TEXT)]
        if not with_text:
            return messages
        if self._model is None:
            raise RuntimeError("SentenceEncoderFeaturizer used before it was trained or loaded")
        vectors = self._model.encode([m.get(TEXT) for m in with_text])
        for message, vector in zip(with_text, vectors, strict=True):
            self.add_features_to_message(
                sequence=None, sentence=vector[np.newaxis, :], attribute=TEXT, message=message
            )
        return messages
