"""The torch-free ONNX sentence encoder."""

from pathlib import Path

import numpy as np
import pytest

from nlu.sentence_encoder import EncoderNotFoundError, SentenceEncoder

TEXTS = [
    "where is my package",
    "my order hasn't arrived yet",
    "what's the weather like in Paris",
    "I want to cancel my subscription and get my money back, this is taking far too long",
]


@pytest.fixture(scope="module")
def encoder(encoder_dir: Path) -> SentenceEncoder:
    return SentenceEncoder.from_dir(encoder_dir)


def test_shape_and_unit_length(encoder: SentenceEncoder) -> None:
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_repeated_calls_and_batching_give_the_same_vectors(encoder: SentenceEncoder) -> None:
    batched = encoder.encode(TEXTS)
    np.testing.assert_allclose(encoder.encode(TEXTS), batched, atol=1e-6)
    # One at a time means no padding at all: equal vectors show the attention mask hides the padding.
    singles = np.vstack([encoder.encode([text]) for text in TEXTS])
    np.testing.assert_allclose(singles, batched, atol=1e-4)


def test_similar_sentences_score_higher_than_unrelated(encoder: SentenceEncoder) -> None:
    package, order, weather, _ = encoder.encode(TEXTS)
    assert float(package @ order) > float(package @ weather) + 0.2


def test_missing_export_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(EncoderNotFoundError, match="make encoder"):
        SentenceEncoder.from_dir(tmp_path)
