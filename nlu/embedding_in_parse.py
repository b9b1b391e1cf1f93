"""`EmbeddingInParse`: the message's sentence embedding in the parse, for the backend's hand-off policy.

The policy's text models read the all-MiniLM-L6-v2 embedding that SentenceEncoderFeaturizer computed for the
intent classifier (contract/embedding.py says why and in what form). Nothing is trained or computed here
but the encoding: the feature is read from the message as the featurizer left it.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from contract.embedding import DIMENSIONS, PARSE_KEY, encode
from nlu.featurizer import DEFAULT_ALIAS, sentence_vector


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class EmbeddingInParse(GraphComponent):
    """Adds `embedding` (contract/embedding.py) to the parse of every message with a sentence feature."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"featurizer_alias": DEFAULT_ALIAS}

    def __init__(self, config: dict[str, Any]) -> None:
        self._alias = config["featurizer_alias"]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmbeddingInParse:
        return cls({**cls.get_default_config(), **config})

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to training examples: the embedding is for the parse the backend reads."""
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if not message.get(TEXT):
                continue
            vector = sentence_vector(message, self._alias)
            if vector is not None and vector.shape[0] == DIMENSIONS:
                message.set(PARSE_KEY, encode(vector.tolist()), add_to_output=True)
        return messages
