"""The hand-off features, the two policies, and how replays are scored against labels."""

import json

import pytest

from backend.handoff.features import FEATURES, REASON_PHRASES, TurnView, handoff_features, reason_phrase
from backend.handoff.policy import LearntPolicy, RulesPolicy, load_policy
from backend.handoff.text import TEXT_FEATURES
from ml.conversations import LabelledConversation, LabelledTurn
from ml.replay import ReplayedTurn, score, with_policy


def turns(*spec: tuple[str, str]) -> list[TurnView]:
    return [TurnView(intent, label, -0.8 if label == "negative" else 0.0) for intent, label in spec]


def test_features_count_runs_and_totals():
    f = handoff_features(
        turns(("nlu_fallback", "neutral"), ("complaint", "negative"), ("not_helpful", "negative"))
    )
    assert f["fallbacks_total"] == 1 and f["fallbacks_in_a_row"] == 0
    assert f["negatives_in_a_row"] == 2 and f["negative_previous"] == 1 and f["negative_now"] == 1
    assert f["not_helpful_now"] == 1 and f["not_helpful_total"] == 1 and f["turn_number"] == 3
    assert list(f) == list(FEATURES)


def test_a_cancellation_asked_for_again_is_told_apart_from_the_first():
    first = handoff_features(turns(("greet", "neutral"), ("cancel_subscription", "neutral")))
    again = handoff_features(
        turns(("cancel_subscription", "neutral"), ("deny", "neutral"), ("cancel_subscription", "neutral"))
    )
    after_other = handoff_features(turns(("cancel_subscription", "neutral"), ("order_status", "neutral")))
    assert (first["cancel_again"], again["cancel_again"], after_other["cancel_again"]) == (0, 1, 0)


def test_features_need_a_turn():
    with pytest.raises(ValueError):
        handoff_features([])


@pytest.mark.parametrize(
    ("spec", "handoff"),
    [
        ((("failed_payment", "neutral"), ("thanks", "positive")), False),
        ((("complaint", "negative"),), False),
        ((("complaint", "negative"), ("order_status", "neutral"), ("complaint", "negative")), False),
        ((("complaint", "negative"), ("not_helpful", "negative")), True),
        ((("request_human", "neutral"),), True),
        ((("nlu_fallback", "neutral"), ("greet", "neutral"), ("nlu_fallback", "neutral")), True),
        ((("security_concern", "neutral"),), True),
        ((("cancel_subscription", "neutral"),), False),
        ((("cancel_subscription", "neutral"), ("deny", "neutral"), ("cancel_subscription", "neutral")), True),
    ],
)
def test_rules_policy(spec, handoff):
    assert RulesPolicy().decide(turns(*spec)).handoff is handoff


def policy(threshold: float, weights: dict[str, float]) -> LearntPolicy:
    n = len(FEATURES)
    coef = tuple(weights.get(name, 0.0) for name in FEATURES)
    return LearntPolicy("t", (0.0,) * n, (1.0,) * n, coef, -2.0, threshold)


def test_learnt_policy_keeps_the_explicit_request_guardrail():
    never = policy(0.99, {})
    decision = never.decide(turns(("request_human", "neutral")))
    assert decision.handoff and decision.reasons == ["the customer asked for a person"]
    assert not never.decide(turns(("complaint", "negative"), ("complaint", "negative"))).handoff


def test_a_declined_person_is_respected_unless_the_customer_asks_again_to_cancel():
    p = policy(0.5, {"cancel_again": 3.0, "negative_now": 3.0})
    cancel, offer_declined = (
        TurnView("cancel_subscription", "neutral", 0.0, "I want to cancel"),
        TurnView("cancel_subscription", "neutral", 0.0, "no thanks, I just want it cancelled"),
    )
    assert handoff_features([cancel, offer_declined])["declines_person"] == 1
    assert p.decide([cancel, offer_declined]).handoff  # a person alone can cancel the plan
    angry_but_declines = TurnView("complaint", "negative", -0.8, "no thanks, I don't need a person")
    assert not p.decide([angry_but_declines]).handoff


def test_learnt_policy_scores_and_explains():
    p = policy(0.5, {"not_helpful_total": 1.5})
    assert not p.decide(turns(("not_helpful", "neutral"))).handoff  # sigmoid(-0.5)
    decision = p.decide(turns(("not_helpful", "neutral"), ("not_helpful", "neutral")))  # sigmoid(1)
    assert decision.handoff and decision.reasons == ["said 2 times that an answer did not help"]
    assert decision.score == pytest.approx(0.731, abs=1e-3)


def test_a_reason_is_never_a_feature_the_conversation_lacks():
    # The shipped policy weighs "dissatisfied in the message before" negatively: its absence pushes the
    # score up, and the case card once said the customer had been dissatisfied when they had not.
    n = len(FEATURES)
    weights = {"cancel_again": 3.0, "negative_previous": -2.0, "complaint_now": -1.0}
    coef = tuple(weights.get(name, 0.0) for name in FEATURES)
    p = LearntPolicy("t", (0.2,) * n, (1.0,) * n, coef, 0.0, 0.5)
    calm = turns(("cancel_subscription", "neutral"), ("deny", "neutral"), ("cancel_subscription", "neutral"))
    decision = p.decide(calm)
    assert decision.handoff and decision.reasons == ["asked again to cancel"]


def test_every_feature_has_words_for_the_inbox():
    assert set(REASON_PHRASES) == set(FEATURES + TEXT_FEATURES)
    for name in FEATURES:
        for value in (1.0, 3.0):
            words = reason_phrase(name, value)
            assert name not in words and "_" not in words and "=" not in words


def test_a_request_for_a_person_is_given_once_as_a_reason():
    p = policy(0.5, {"explicit_request": 3.0})
    decision = p.decide(turns(("request_human", "neutral")))
    assert decision.reasons == ["the customer asked for a person"]


def test_learnt_policy_file_round_trip_and_refusals(tmp_path):
    p = policy(0.4, {"negative_now": 2.0})
    assert LearntPolicy.from_json(p.to_json()) == p
    stale = p.to_json() | {"features": list(FEATURES[:-1])}
    with pytest.raises(ValueError, match="other features"):
        LearntPolicy.from_json(stale)
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(stale))
    assert isinstance(load_policy("learnt", path), RulesPolicy)  # refused: the rules decide
    with pytest.raises(ValueError):
        load_policy("magic", None)


def labelled(cid: str, *decisions: bool) -> LabelledConversation:
    items = tuple(LabelledTurn(f"t{i}", "neutral", d, "H1" if d else None) for i, d in enumerate(decisions))
    return LabelledConversation(cid, None, items)


def replayed(*spec: tuple[str, bool]) -> list[ReplayedTurn]:
    return [ReplayedTurn(intent, "neutral", 0.0, bot, ()) for intent, bot in spec]


def test_score_counts_until_the_first_handoff():
    items = [
        labelled("early", False, False, True),  # the policy hands over at turn 2: FP, the rest unseen
        labelled("right", False, True),  # the bot hands over at the labelled turn: TP
        labelled("missed", False, True),  # nobody hands over: FN
        labelled("quiet", False, False),  # nothing either way
    ]
    replay = {
        "early": replayed(("nlu_fallback", False), ("nlu_fallback", False), ("greet", False)),
        "right": replayed(("greet", False), ("request_human", True)),
        "missed": replayed(("greet", False), ("complaint", False)),
        "quiet": replayed(("greet", False), ("thanks", False)),
    }
    rules = score(items, replay, with_policy(RulesPolicy()))
    assert (rules.true_positive, rules.false_positive, rules.false_negative) == (1, 1, 1)
    assert rules.handed_over == 2 and rules.unneeded == 1 and rules.turns == 8
    assert rules.precision == 0.5 and rules.recall == 0.5
    bot_alone = score(items, replay, with_policy(None))
    assert (bot_alone.true_positive, bot_alone.false_positive, bot_alone.false_negative) == (1, 0, 2)
