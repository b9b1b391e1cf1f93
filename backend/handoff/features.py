"""What the hand-off decision sees of a conversation: the bot's parse of each customer message so far.

Pure functions of plain records, shared by the live decision (backend/handoff/policy.py), training
(ml/handoff.py) and the evaluation (scripts/eval_decisions.py), so a policy is scored on exactly what it
acts on in the product: the intent after Rasa's FallbackClassifier and the sentiment label of every turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from backend.handoff.cues import Cues, cues_of

FALLBACK = "nlu_fallback"
REQUEST_HUMAN = "request_human"
NOT_HELPFUL = "not_helpful"
SECURITY = "security_concern"
COMPLAINT = "complaint"
CANCEL = "cancel_subscription"
NEGATIVE = "negative"


@dataclass(frozen=True)
class TurnView:
    """One customer message as the bot understood it."""

    intent: str | None
    sentiment_label: str | None
    sentiment_score: float | None = None  # P(positive) - P(negative)
    text: str | None = None  # what the customer wrote: the cues an intent does not carry (cues.py)
    # The message's sentence embedding as stored (contract/embedding.py: 384 half floats), read by the
    # learnt policy's text models (backend/handoff/text.py); None when the parse carried none.
    embedding: bytes | None = None


# The order is the learnt policy's input vector; a saved policy names it, and a mismatch refuses to load.
FEATURES: tuple[str, ...] = (
    "explicit_request",
    "asks_for_person_in_text",
    "security_intent",
    "disowns_in_text",
    "not_helpful_now",
    "not_helpful_total",
    "not_helped_again",
    "fallbacks_in_a_row",
    "fallbacks_total",
    "garbled_after_unclear",
    "negative_now",
    "negative_previous",
    "negatives_in_a_row",
    "complaint_now",
    "earlier_contacts_now",
    "threatens_now",
    "dissatisfied_with_cause",
    "dissatisfied_twice",
    "declines_person",
    "cancel_again",
    "turn_number",
)


def _times(count: float, one: str, many: str) -> str:
    n = int(count)
    return one if n == 1 else many.format(n=n)


# What each feature says in words an agent reads: the case card and the hand-off brief show the learnt
# policy's strongest reasons with these, not as feature names. Called with the feature's value.
REASON_PHRASES: dict[str, Callable[[float], str]] = {
    "explicit_request": lambda _: "the customer asked for a person",
    "asks_for_person_in_text": lambda _: "asked for a person in their own words",
    "security_intent": lambda _: "account security",
    "disowns_in_text": lambda _: "says an order, a charge or a sign-in was not theirs",
    "not_helpful_now": lambda _: "said the last answer did not help",
    "not_helpful_total": lambda n: _times(
        n, "said an answer did not help", "said {n} times that an answer did not help"
    ),
    "not_helped_again": lambda _: "said a second time that an answer did not help",
    "fallbacks_in_a_row": lambda n: _times(
        n, "the bot did not understand the last message", "the bot did not understand {n} messages in a row"
    ),
    "fallbacks_total": lambda n: _times(
        n, "the bot did not understand one message", "the bot did not understand {n} messages"
    ),
    "garbled_after_unclear": lambda _: "a second unclear message in a row",
    "negative_now": lambda _: "dissatisfied in this message",
    "negative_previous": lambda _: "dissatisfied in the message before",
    "negatives_in_a_row": lambda n: _times(
        n, "dissatisfied in this message", "{n} dissatisfied messages in a row"
    ),
    "complaint_now": lambda _: "a complaint",
    "earlier_contacts_now": lambda _: "says earlier contacts did not sort it out",
    "threatens_now": lambda _: "threatens to leave or to take it further",
    "dissatisfied_with_cause": lambda _: "dissatisfied, after earlier contacts or with a threat",
    "dissatisfied_twice": lambda _: "dissatisfied in this message and the one before",
    "declines_person": lambda _: "turned down a person",
    "cancel_again": lambda _: "asked again to cancel",
    "turn_number": lambda n: f"a long conversation ({int(n)} messages)",
    # The learnt policy's text models (backend/handoff/text.py), when it has them.
    "text_now": lambda _: "worded like messages a person had to take over",
    "text_pair": lambda _: "this message and the one before read like ones a person had to take over",
}


def reason_phrase(name: str, value: float) -> str:
    return REASON_PHRASES[name](value)


def _run_length(flags: Sequence[bool]) -> int:
    """How many of the last flags in a row are set."""
    count = 0
    for flag in reversed(flags):
        if not flag:
            break
        count += 1
    return count


def _asks_for_person(intent: str | None, cues: Cues) -> bool:
    """The intent or the words ask for a person. An intent read as a request is overruled by words that turn
    one down ("nah, not worth getting a human for that"), take it back as a joke, or ask about later."""
    read_as_request = intent == REQUEST_HUMAN and not (cues.declines_person or cues.not_a_request_now)
    return read_as_request or cues.asks_for_person


def _dissatisfied(turn: TurnView, cues: Cues) -> bool:
    """Dissatisfied with the service (labelling rules §1 `negative`): the sentiment label says so, or the
    words (`cues`, the turn's own) blame the company, its service or the bot."""
    return turn.sentiment_label == NEGATIVE or cues.blames


def handoff_features(turns: Sequence[TurnView]) -> dict[str, float]:
    """Features of the conversation up to and including its last customer turn."""
    if not turns:
        raise ValueError("a hand-off decision needs at least one customer turn")
    now = turns[-1]
    intents = [t.intent for t in turns]
    # Each turn's words read once: the cues are the dearest part of a decision, and several features look
    # at the same turn.
    turn_cues = [cues_of(t.text) for t in turns]
    not_helped = [t.intent == NOT_HELPFUL or c.not_helped for t, c in zip(turns, turn_cues, strict=True)]
    # A cancellation asked for earlier, by the intent or in words it read otherwise ("can I cancel and get
    # the money back?"): of the plan, not of an order ("how do I cancel an order I just placed?" reads as the
    # plan's intent).
    asked_to_cancel_plan = any(
        (t.intent == CANCEL or c.asks_to_cancel) and not c.keeps_plan
        for t, c in zip(turns[:-1], turn_cues[:-1], strict=True)
    )
    negative = [t.sentiment_label == NEGATIVE for t in turns]
    fallback = [i == FALLBACK for i in intents]
    cues = turn_cues[-1]
    return {
        # Asked for a person, whichever need the intent names (a long message parses as one intent).
        "explicit_request": float(_asks_for_person(now.intent, cues)),
        "asks_for_person_in_text": float(cues.asks_for_person),
        # Apart: the intent also reads worries a lead answers ("which devices are signed in?"), while the
        # words name what H4 (a) asks for (someone else in the account, orders or charges not made).
        "security_intent": float(now.intent == SECURITY),
        "disowns_in_text": float(cues.disowns),
        "not_helpful_now": float(not_helped[-1]),
        "not_helpful_total": float(sum(not_helped)),
        # H2 asks for the second "that did not help" of a conversation; the first gets a rephrase or an offer.
        "not_helped_again": float(not_helped[-1] and any(not_helped[:-1])),
        "fallbacks_in_a_row": float(_run_length(fallback)),
        "fallbacks_total": float(sum(fallback)),
        # H2's other half: a second message in a row no one could map to a need, the first being garbled or
        # not understood by the bot either.
        "garbled_after_unclear": float(
            cues.garbled and len(turns) > 1 and (fallback[-2] or turn_cues[-2].garbled)
        ),
        "negative_now": float(negative[-1]),
        "negative_previous": float(len(negative) > 1 and negative[-2]),
        "negatives_in_a_row": float(_run_length(negative)),
        "complaint_now": float(now.intent == COMPLAINT),
        "earlier_contacts_now": float(cues.earlier_contacts),
        "threatens_now": float(cues.threatens),
        # A dissatisfied message (the label, or blame in the words, as for H3 (a) below) with a cause a lead
        # acts on: earlier failed contacts or a threat.
        "dissatisfied_with_cause": float(
            _dissatisfied(now, cues) and (cues.earlier_contacts or cues.threatens)
        ),
        # H3 (a) as the rule words it: this message and the previous one dissatisfied with the service, read
        # from the sentiment label or from blame in the words. The adapted sentiment model keeps problem
        # reports neutral and with them some plain blame ("this is ridiculous" at -0.42), so the label alone
        # misses the first of the two more often than it did.
        "dissatisfied_twice": float(
            len(turns) > 1 and _dissatisfied(turns[-1], cues) and _dissatisfied(turns[-2], turn_cues[-2])
        ),
        "declines_person": float(cues.declines_person),
        # H4 (b): asking again to cancel after the bot has answered the first request (its cancellation
        # steps, or a retention offer) is a request only a person fulfils: the bot cannot cancel a plan. Not
        # when the words keep the plan, ask about later or mean an order, whatever the intent read; and when
        # the words ask to cancel though the intent read the message otherwise.
        "cancel_again": float(
            (now.intent == CANCEL or cues.asks_to_cancel) and asked_to_cancel_plan and not cues.keeps_plan
        ),
        "turn_number": float(len(turns)),
    }


def vector(features: dict[str, float]) -> list[float]:
    return [features[name] for name in FEATURES]
