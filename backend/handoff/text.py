"""The learnt policy's reading of the customer's words: two text models on the message's sentence embedding.

The policy's other features are cues someone wrote down (backend/handoff/cues.py) and the NLU's intent and
sentiment; each round of blind dev writers showed new wordings of the same needs that no cue listed. These
two models read the all-MiniLM-L6-v2 embedding the NLU already computed (contract/embedding.py), each a
logistic regression fitted on the dev turns' hand-off labels (ml/handoff_text.py), and hand the policy its
logit as one more feature:

- `text_now`: the current message;
- `text_pair`: the current message beside the one before it (zeros for a first message), so "yes please"
  after "my parcel never came, third time I write" reads differently from a "yes please" alone.

docs/benchmarks.md ("now+pair") has the dev study that chose them, its rule written before its results.
A turn whose parse carried no embedding (a model without the component, a clicked button) gets no text
feature, and the policy reads it at its training mean: the turn is decided on the other features alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from backend.handoff.features import TurnView

TEXT_NOW, TEXT_PAIR = "text_now", "text_pair"
TEXT_FEATURES: tuple[str, ...] = (TEXT_NOW, TEXT_PAIR)
# Logits are clipped where the probability reaches 1e-4 or 1 - 1e-4: one model's certainty on a message
# must not outweigh every other feature after standardisation.
LOGIT_LIMIT = math.log((1 - 1e-4) / 1e-4)


def vector_of(raw: bytes) -> np.ndarray:
    """A stored embedding (little-endian half floats) as float64, as training reads it."""
    return np.frombuffer(raw, dtype="<f2").astype(np.float64)


def logits(E: np.ndarray, coef: np.ndarray, intercept: float) -> np.ndarray:
    """A text model's clipped logit for each row of E: what it serves, and what training stacks (the one
    place the arithmetic is written, ml/handoff_text.py reads it too)."""
    return np.clip(intercept + E @ coef, -LOGIT_LIMIT, LOGIT_LIMIT)


def pair_input(current: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """The pair model's input: the message beside the one before it, zeros when there is none."""
    return np.concatenate([current, previous if previous is not None else np.zeros_like(current)])


@dataclass(frozen=True)
class TextModels:
    """The two fitted text models: coefficients over the embedding (`pair`: over [current, previous])."""

    now_coef: tuple[float, ...]
    now_intercept: float
    pair_coef: tuple[float, ...]
    pair_intercept: float

    @cached_property
    def _now(self) -> np.ndarray:
        return np.asarray(self.now_coef, dtype=np.float64)

    @cached_property
    def _pair(self) -> np.ndarray:
        return np.asarray(self.pair_coef, dtype=np.float64)

    def columns(self, now: np.ndarray, pair: np.ndarray) -> np.ndarray:
        """The two logits (text_now, text_pair) for each row of `now` and `pair`."""
        return np.column_stack([
            logits(now, self._now, self.now_intercept),
            logits(pair, self._pair, self.pair_intercept),
        ])  # fmt: skip

    def features(self, turns: Sequence[TurnView]) -> dict[str, float]:
        """The two logits after the last of `turns`; empty when its parse carried no embedding."""
        if not turns or turns[-1].embedding is None:
            return {}
        now = vector_of(turns[-1].embedding)
        before = turns[-2].embedding if len(turns) > 1 else None
        pair = pair_input(now, vector_of(before) if before is not None else None)
        [(text_now, text_pair)] = self.columns(now[np.newaxis], pair[np.newaxis])
        return {TEXT_NOW: float(text_now), TEXT_PAIR: float(text_pair)}

    def to_json(self) -> dict[str, Any]:
        return {
            "now": {"coef": list(self.now_coef), "intercept": self.now_intercept},
            "pair": {"coef": list(self.pair_coef), "intercept": self.pair_intercept},
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> TextModels:
        now, pair = body["now"], body["pair"]
        models = cls(
            now_coef=tuple(float(v) for v in now["coef"]),
            now_intercept=float(now["intercept"]),
            pair_coef=tuple(float(v) for v in pair["coef"]),
            pair_intercept=float(pair["intercept"]),
        )
        if len(models.pair_coef) != 2 * len(models.now_coef):
            raise ValueError("the pair model reads two embeddings: twice the current model's width")
        return models
