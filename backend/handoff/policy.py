"""Whether a person should take the conversation over after a customer turn.

Two policies answer the same question from the same features (backend/handoff/features.py):

- `RulesPolicy`: the rules a support lead would write first: the customer asked for a person, two dissatisfied
  messages in a row, or two messages the bot could not understand.
- `LearntPolicy`: a logistic model fitted on the labelled in-domain conversations' dev split (ml/handoff.py)
  behind the same explicit-request guardrail: asking for a person always gets one, whatever the model says.

Which one serves is a setting (`HANDOFF_POLICY`); `make eval-decisions` measures both on the test
conversations and docs/benchmarks.md says which ships and why. The labels both are measured against are
written by the rules in docs/labelling.md, never derived from either policy's inputs.

The learnt policy is a few numbers in a JSON file (means, scales, coefficients, threshold), scored here
without scikit-learn so the web worker loads no training code.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from backend.handoff.features import FEATURES, TurnView, handoff_features, reason_phrase
from backend.handoff.text import TEXT_FEATURES, TextModels

log = logging.getLogger(__name__)

ARTIFACT_FORMAT = "supportdesk.handoff-policy.v1"
_MODEL_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="handoff-policy")


@dataclass(frozen=True)
class HandoffDecision:
    handoff: bool
    policy: str  # "rules" or "learnt@<version>"
    reasons: list[str]
    score: float | None = None  # the learnt policy's probability; None for the rules
    threshold: float | None = None
    features: dict[str, float] = field(default_factory=dict)
    fallback: str | None = None  # why the rules decided instead of the configured learnt policy


def input_names(text: TextModels | None) -> tuple[str, ...]:
    """A learnt policy's input vector, in order: the features of features.py, then the text models' if any."""
    return FEATURES + (TEXT_FEATURES if text is not None else ())


class HandoffPolicy(Protocol):
    name: str

    def decide(self, turns: Sequence[TurnView]) -> HandoffDecision: ...


def _explicit_request(features: dict[str, float]) -> list[str]:
    return ["the customer asked for a person"] if features["explicit_request"] else []


def declined(features: Mapping[str, Any]) -> Any:
    """The customer said no to a person ("no, let's keep trying here") and did not ask for one: respected.
    Not when they ask again to cancel: "no thanks, I just want it cancelled" turns down the offer, not the
    person who alone can cancel the plan. On one turn's features, or on feature columns (training's
    threshold search, ml/handoff.py), alike."""
    asked = np.logical_or(
        np.greater(features["explicit_request"], 0), np.greater(features["cancel_again"], 0)
    )
    return np.logical_and(np.greater(features["declines_person"], 0), np.logical_not(asked))


def _declined(features: dict[str, float]) -> bool:
    return bool(declined(features))


class RulesPolicy:
    """Explicit request, two dissatisfied turns in a row, or two fallbacks in the conversation; and the two
    hand-offs the dialogue asks the policy about instead of taking them itself: account security (the dialogue
    handed every `security_concern` over before) and a cancellation asked for again."""

    name = "rules"

    def decide(self, turns: Sequence[TurnView]) -> HandoffDecision:
        return self.decide_features(handoff_features(turns))

    def decide_features(self, features: dict[str, float]) -> HandoffDecision:
        """The same decision from features already computed (a logged decision's, when retraining)."""
        reasons = _explicit_request(features)
        if features["negatives_in_a_row"] >= 2:
            reasons.append("two dissatisfied messages in a row")
        if features["fallbacks_total"] >= 2:
            reasons.append("the bot did not understand two messages")
        if features["security_intent"]:
            reasons.append("account security")
        if features["cancel_again"]:
            reasons.append("asked again to cancel")
        if _declined(features):
            reasons = []
        return HandoffDecision(bool(reasons), self.name, reasons, features=features)


@dataclass(frozen=True)
class LearntPolicy:
    """Standardized features, one logistic layer, a threshold chosen on dev data; see ml/handoff.py. With
    `text`, two more features read the customer's words (backend/handoff/text.py)."""

    version: str
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    text: TextModels | None = None

    @property
    def name(self) -> str:
        return f"learnt@{self.version}"

    @property
    def feature_names(self) -> tuple[str, ...]:
        return input_names(self.text)

    def features(self, turns: Sequence[TurnView]) -> dict[str, float]:
        """What the policy reads after the last of `turns`."""
        features = handoff_features(turns)
        return features | self.text.features(turns) if self.text is not None else features

    def _vector(self, features: Mapping[str, float]) -> list[float]:
        """The input vector. A text feature the turn lacks (its parse carried no embedding) is read at its
        training mean, so it moves the score neither way; every other feature must be there."""
        return [
            mean if name in TEXT_FEATURES and features.get(name) is None else features[name]
            for name, mean in zip(self.feature_names, self.mean, strict=True)
        ]

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.intercept + sum(
            c * (x - m) / s
            for x, m, s, c in zip(self._vector(features), self.mean, self.scale, self.coef, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-z))

    def reasons(self, features: dict[str, float]) -> list[str]:
        """The three features that pushed the score up most, in words (the inbox shows why). Only features
        above their average count: the phrases say what the conversation holds, and a feature with a negative
        weight pushes the score up by being absent ("dissatisfied in the message before" when it was not)."""
        pushes = [
            (c * (x - m) / s, name)
            for name, x, m, s, c in zip(
                self.feature_names, self._vector(features), self.mean, self.scale, self.coef, strict=True
            )
            if x > m
        ]
        strongest = [name for push, name in sorted(pushes, reverse=True)[:3] if push > 0]
        return [reason_phrase(name, features[name]) for name in strongest]

    def decide(self, turns: Sequence[TurnView]) -> HandoffDecision:
        return self.decide_features(self.features(turns))

    def decide_features(self, features: dict[str, float]) -> HandoffDecision:
        score = self.probability(features)
        guardrail = _explicit_request(features)
        over = score >= self.threshold and not _declined(features)
        handoff = bool(guardrail) or over
        learnt = [reason for reason in self.reasons(features) if reason not in guardrail] if over else []
        reasons = guardrail + learnt
        return HandoffDecision(handoff, self.name, reasons, score, self.threshold, features)

    def to_json(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {
            "format": ARTIFACT_FORMAT,
            "version": self.version,
            "features": list(self.feature_names),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "threshold": self.threshold,
        }
        if self.text is not None:
            body["text_models"] = self.text.to_json()
        return body | (extra or {})

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> LearntPolicy:
        if body.get("format") != ARTIFACT_FORMAT:
            raise ValueError(f"not a hand-off policy file (format {body.get('format')!r})")
        text = TextModels.from_json(body["text_models"]) if "text_models" in body else None
        expected = input_names(text)
        if tuple(body["features"]) != expected:
            raise ValueError("the policy was trained on other features than this code computes")
        if not len(body["mean"]) == len(body["scale"]) == len(body["coef"]) == len(expected):
            raise ValueError("the policy's means, scales and coefficients do not match its features")
        return cls(
            version=str(body["version"]),
            mean=tuple(float(v) for v in body["mean"]),
            scale=tuple(float(v) for v in body["scale"]),
            coef=tuple(float(v) for v in body["coef"]),
            intercept=float(body["intercept"]),
            threshold=float(body["threshold"]),
            text=text,
        )


async def decide_within(policy: HandoffPolicy, turns: Sequence[TurnView], budget_s: float) -> HandoffDecision:
    """The policy's decision if it comes within `budget_s`; the rules' otherwise, saying why.

    A model's call runs in a worker thread so a slow one cannot stall the event loop; a thread cannot be
    stopped, so one that overruns finishes unheard. The rules answer in the loop: they are the fallback.
    The threads are the policy's own, so the knowledge search's or redaction's work never counts against it.
    """
    if isinstance(policy, RulesPolicy):
        return policy.decide(turns)
    call = asyncio.get_running_loop().run_in_executor(_MODEL_THREADS, policy.decide, turns)
    try:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose a cancellation (core/background.py).
        async with asyncio.timeout(budget_s):
            return await call
    except TimeoutError:
        fallback = f"{policy.name} missed its {budget_s * 1000:g} ms deadline"
    except Exception as exc:  # a broken model must not stop the decision: the rules take it
        log.exception("hand-off policy %s failed; the rules decide", policy.name)
        fallback = f"{policy.name} failed: {exc!r}"[:500]
    return replace(RulesPolicy().decide(turns), fallback=fallback)


def load_policy(kind: str, path: Path | None) -> HandoffPolicy:
    """The configured policy. A learnt policy whose file is missing or unreadable serves the rules instead,
    loudly: the product keeps deciding, and the log says on what."""
    if kind == "rules":
        return RulesPolicy()
    if kind != "learnt":
        raise ValueError(f"unknown hand-off policy {kind!r}: rules or learnt")
    try:
        if path is None:
            raise FileNotFoundError("HANDOFF_MODEL_PATH is not set")
        return LearntPolicy.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError) as exc:
        log.error("learnt hand-off policy not loaded (%s): the rules decide instead", exc)
        return RulesPolicy()
