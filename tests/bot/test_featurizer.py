"""SentenceEncoderFeaturizer: sentence features, self-contained persistence, clear errors."""

from pathlib import Path

import numpy as np
import pytest
from rasa.shared.nlu.constants import TEXT

from nlu.featurizer import DEFAULT_ALIAS, SentenceEncoderFeaturizer
from nlu.sentence_encoder import EncoderNotFoundError, SentenceEncoder


def test_adds_a_384_d_sentence_feature(featurizer, messages) -> None:
    message, empty = featurizer.process(messages("where is my order?", ""))
    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence is None  # sentence-level only, by design (see nlu/featurizer.py)
    assert sentence.features.shape == (1, 384)
    assert [f.origin for f in message.features] == [DEFAULT_ALIAS]  # later components look it up by alias
    assert message.get_dense_features(TEXT, [DEFAULT_ALIAS])[1] is not None
    assert empty.features == []  # nothing to embed


def test_feature_equals_the_encoder_output(featurizer, messages, encoder_dir: Path) -> None:
    (message,) = featurizer.process(messages("I was charged twice"))
    expected = SentenceEncoder.from_dir(encoder_dir).encode(["I was charged twice"])
    np.testing.assert_allclose(message.get_dense_features(TEXT)[1].features, expected, atol=1e-5)


def test_model_storage_holds_the_encoder(storage, featurizer) -> None:
    from rasa.engine.storage.resource import Resource

    with storage.read_from(Resource("train_featurizer")) as directory:
        names = {p.name for p in Path(directory).iterdir()}
    assert {"encoder.json", "tokenizer.json", "model.onnx"} <= names


def test_missing_encoder_dir_says_how_to_make_it(storage, tmp_path: Path, monkeypatch) -> None:
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.training_data import TrainingData

    monkeypatch.delenv("SUPPORTDESK_ENCODER_DIR", raising=False)
    config = {**SentenceEncoderFeaturizer.get_default_config(), "encoder_dir": str(tmp_path / "absent")}
    component = SentenceEncoderFeaturizer.create(
        config, storage, Resource("train_missing"), ExecutionContext(GraphSchema({}), node_name="x")
    )
    with pytest.raises(EncoderNotFoundError, match="make encoder"):
        component.train(TrainingData())
