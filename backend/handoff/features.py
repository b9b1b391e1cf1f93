"""What the hand-off decision sees of a conversation: the bot's parse of each customer message so far.

Pure functions of plain records, shared by the live decision (backend/handoff/policy.py), training
(ml/handoff.py) and the evaluation (scripts/eval_decisions.py), so a policy is scored on exactly what it
acts on in the product: the intent after Rasa's FallbackClassifier and the sentiment label of every turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backend.handoff.cues import cues_of

FALLBACK = "nlu_fallback"
REQUEST_HUMAN = "request_human"
NOT_HELPFUL = "not_helpful"
SECURITY = "security_concern"
COMPLAINT = "complaint"
NEGATIVE = "negative"


@dataclass(frozen=True)
class TurnView:
    """One customer message as the bot understood it."""

    intent: str | None
    sentiment_label: str | None
    sentiment_score: float | None = None  # P(positive) - P(negative)
    text: str | None = None  # what the customer wrote: the cues an intent does not carry (cues.py)


# The order is the learnt policy's input vector; a saved policy names it, and a mismatch refuses to load.
FEATURES: tuple[str, ...] = (
    "explicit_request",
    "asks_for_person_in_text",
    "security_concern",
    "not_helpful_now",
    "not_helpful_total",
    "fallbacks_in_a_row",
    "fallbacks_total",
    "negative_now",
    "negative_previous",
    "negatives_in_a_row",
    "negatives_total",
    "negative_strength",
    "complaint_now",
    "complaints_total",
    "earlier_contacts_now",
    "threatens_now",
    "dissatisfied_with_cause",
    "declines_person",
    "turn_number",
)


def _run_length(flags: Sequence[bool]) -> int:
    """How many of the last flags in a row are set."""
    count = 0
    for flag in reversed(flags):
        if not flag:
            break
        count += 1
    return count


def handoff_features(turns: Sequence[TurnView]) -> dict[str, float]:
    """Features of the conversation up to and including its last customer turn."""
    if not turns:
        raise ValueError("a hand-off decision needs at least one customer turn")
    now = turns[-1]
    intents = [t.intent for t in turns]
    not_helped = [t.intent == NOT_HELPFUL or cues_of(t.text).not_helped for t in turns]
    negative = [t.sentiment_label == NEGATIVE for t in turns]
    fallback = [i == FALLBACK for i in intents]
    strength = -(now.sentiment_score or 0.0) if negative[-1] else 0.0
    cues = cues_of(now.text)
    return {
        # Asked for a person, whichever need the intent names (a long message parses as one intent).
        "explicit_request": float(now.intent == REQUEST_HUMAN or cues.asks_for_person),
        "asks_for_person_in_text": float(cues.asks_for_person),
        "security_concern": float(now.intent == SECURITY or cues.disowns),
        "not_helpful_now": float(not_helped[-1]),
        "not_helpful_total": float(sum(not_helped)),
        "fallbacks_in_a_row": float(_run_length(fallback)),
        "fallbacks_total": float(sum(fallback)),
        "negative_now": float(negative[-1]),
        "negative_previous": float(len(negative) > 1 and negative[-2]),
        "negatives_in_a_row": float(_run_length(negative)),
        "negatives_total": float(sum(negative)),
        "negative_strength": max(strength, 0.0),
        "complaint_now": float(now.intent == COMPLAINT),
        "complaints_total": float(intents.count(COMPLAINT)),
        "earlier_contacts_now": float(cues.earlier_contacts),
        "threatens_now": float(cues.threatens),
        # A dissatisfied message with a cause a lead acts on: earlier failed contacts or a threat.
        "dissatisfied_with_cause": float(negative[-1] and (cues.earlier_contacts or cues.threatens)),
        "declines_person": float(cues.declines_person),
        "turn_number": float(len(turns)),
    }


def vector(features: dict[str, float]) -> list[float]:
    return [features[name] for name in FEATURES]
