"""The hand-off probes' own parts (ml/handoff_probes.py): the offer they look for, the threshold rules."""

from __future__ import annotations

import numpy as np
import pytest

from actions import messages
from backend.handoff.features import FEATURES
from backend.handoff.policy import LearntPolicy
from ml.handoff import _decided as decided
from ml.handoff import scores
from ml.handoff_probes import THRESHOLD_RULES, _threshold_by, counts, offers_a_person


@pytest.mark.parametrize(
    "offer",
    [
        messages.PERSON_OFFER,
        f"{messages.COMPLAINT_APOLOGY} {messages.COMPLAINT_OFFER}",
        messages.CANCEL_OFFER,
        messages.SECURITY_OFFER,
        messages.BILLING_WRONG_CHARGE_OFFER,
        messages.ORDER_LOOKUP_FAILED_OFFER,
    ],
)
def test_every_offer_of_a_person_the_bot_makes_is_seen(offer: str) -> None:
    assert offers_a_person(offer)


@pytest.mark.parametrize(
    "reply",
    [messages.BILLING_PERSON_IF_WRONG, "Is there anything else I can help you with?", messages.CANCEL_INFO],
)
def test_a_mention_or_another_question_is_not_an_offer(reply: str) -> None:
    assert not offers_a_person(reply)


def _rows(explicit: list[int]) -> np.ndarray:
    X = np.zeros((len(explicit), len(FEATURES) + 1))  # one probe column after the policy's own
    X[:, FEATURES.index("explicit_request")] = explicit
    return X


def test_an_explicit_request_hands_over_whatever_the_score_and_extra_columns_are_not_read() -> None:
    X = _rows([1, 0, 0])
    assert decided(X, np.array([0.0, 0.9, 0.1]), 0.5).tolist() == [True, True, False]


def test_a_precision_floor_trades_precision_for_recall_and_f1_does_not() -> None:
    # Scores of ten rows, hand-offs marked 1: F1 stops above the two false positives at 0.65 and 0.6, a
    # precision floor of 0.65 reaches the hand-off below them.
    scores = np.array([0.9, 0.8, 0.7, 0.65, 0.6, 0.5, 0.3, 0.2, 0.1, 0.05])
    y = np.array([1, 1, 1, 0, 0, 1, 0, 0, 0, 0])
    X = _rows([0] * 10)
    assert "f1" in THRESHOLD_RULES
    f1 = _threshold_by("f1", X, y, scores)
    floor = _threshold_by("precision>=0.65", X, y, scores)
    assert counts(y, decided(X, scores, f1)) == (3, 0, 1)
    assert counts(y, decided(X, scores, floor)) == (4, 2, 0)


def test_the_vectorised_scores_are_the_policys_own_probability() -> None:
    rng = np.random.default_rng(3)
    width = len(FEATURES)
    policy = LearntPolicy(
        version="t",
        mean=tuple(rng.normal(size=width)),
        scale=tuple(rng.uniform(0.5, 2, size=width)),
        coef=tuple(rng.normal(size=width)),
        intercept=-0.4,
        threshold=0.5,
    )
    X = rng.normal(size=(5, width))
    expected = [policy.probability(dict(zip(FEATURES, row, strict=True))) for row in X]
    assert np.allclose(scores(policy, X), expected)
