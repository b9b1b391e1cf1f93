"""`StoredComponent`: what every trainable Supportdesk NLU component shares with Rasa's graph.

Rasa builds a component with `create` for training and `load` for prediction, hands it a model storage and a
resource to persist into, and expects the same config handling each time. The featurizer, the intent
classifier and the sentiment analyzer used to write that out three times; here it is once:

- the constructor merges the config with the component's defaults, validates it and keeps the storage, the
  resource and the trained model (None until trained or loaded);
- `create` and `load` build the component the same way; `load` reads the model back with `read_model` and,
  when the resource was never written (training was skipped for lack of data), warns and carries on without
  a model, unless the component cannot work without one (`MODEL_REQUIRED`);
- `persist` writes the model with `write_model`. By default a component's model is one joblib file
  (`MODEL_FILE`) in its resource; a component that persists something else overrides both hooks.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import joblib
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

C = TypeVar("C", bound="StoredComponent")


class StoredComponent(GraphComponent):
    """A Rasa graph component whose trained model lives in its resource of the model storage."""

    # The joblib file holding the model inside the resource.
    MODEL_FILE: ClassVar[str] = "model.joblib"
    # What prediction lacks when there is no trained model: the end of the warning `load` logs.
    WITHOUT_MODEL: ClassVar[str] = "it will add nothing"
    # A component that cannot predict at all without its model refuses to load rather than warn.
    MODEL_REQUIRED: ClassVar[bool] = False

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Any = None,
        name: str = "",
    ) -> None:
        # No super().__init__(): a Rasa base later in the MRO (a featurizer) takes other arguments, and its
        # subclass calls it itself.
        self.config = {**self.get_default_config(), **config}
        self.validate_config(self.config)
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        self._name = name

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Raise InvalidConfigException for a config the component cannot train or predict with."""

    @classmethod
    def create(
        cls: type[C],
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> C:
        return cls(config, model_storage, resource, name=execution_context.node_name)

    @classmethod
    def load(
        cls: type[C],
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> C:
        merged = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as directory:
                model = cls.read_model(Path(directory), merged)
        except ValueError:  # the resource does not exist: training was skipped or never ran
            if cls.MODEL_REQUIRED:
                raise
            model = None
        if model is None:
            logger.warning("%s: no trained model in %s; %s", cls.__name__, resource.name, cls.WITHOUT_MODEL)
        return cls(merged, model_storage, resource, model, name=execution_context.node_name)

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            self.write_model(Path(directory))

    @classmethod
    def read_model(cls, directory: Path, config: dict[str, Any]) -> Any:
        """The model persisted in `directory`, or None if it holds none."""
        path = directory / cls.MODEL_FILE
        return joblib.load(path) if path.is_file() else None

    def write_model(self, directory: Path) -> None:
        joblib.dump(self._model, directory / self.MODEL_FILE)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # Later components of the training graph read what this one adds to the training messages.
        self.process(training_data.training_examples)
        return training_data

    @abstractmethod
    def process(self, messages: list[Message]) -> list[Message]:
        """Add this component's output to each message."""
