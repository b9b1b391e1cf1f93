"""The sentence embedding reaches the parse the backend reads (nlu/embedding_in_parse.py); that the trained
pipeline's parse carries it is tests/bot/test_pipeline.py's."""

from __future__ import annotations

import numpy as np
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message

from contract.embedding import DIMENSIONS, PARSE_KEY, as_bytes
from nlu.embedding_in_parse import EmbeddingInParse
from nlu.featurizer import DEFAULT_ALIAS


def with_sentence_feature(text: str, vector: np.ndarray, alias: str = DEFAULT_ALIAS) -> Message:
    message = Message(data={TEXT: text})
    message.add_features(Features(vector[np.newaxis, :], "sentence", TEXT, alias))
    return message


def component() -> EmbeddingInParse:
    return EmbeddingInParse(EmbeddingInParse.get_default_config())


def test_the_sentence_feature_is_put_in_the_parse_as_half_floats() -> None:
    vector = np.linspace(-0.5, 0.5, DIMENSIONS, dtype=np.float32)
    [message] = component().process([with_sentence_feature("where is my parcel", vector)])
    encoded = message.as_dict(only_output_properties=True)[PARSE_KEY]
    raw = as_bytes(encoded)
    assert raw is not None
    assert np.allclose(np.frombuffer(raw, dtype="<f2"), vector, atol=1e-3)


def test_a_message_without_the_feature_or_text_gets_none() -> None:
    other = with_sentence_feature("hi", np.ones(DIMENSIONS, dtype=np.float32), alias="someone_else")
    narrow = with_sentence_feature("hi", np.ones(10, dtype=np.float32))
    empty = Message(data={TEXT: ""})
    for message in component().process([other, narrow, empty]):
        assert message.get(PARSE_KEY) is None
