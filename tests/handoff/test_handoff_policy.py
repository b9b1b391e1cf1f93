"""The backend's hand-off decision after each bot turn, through the API (scripted Rasa, real database)."""

import json
from collections.abc import Callable
from pathlib import Path

from backend.conversations.hub import HANDOFF_NOTICE
from backend.handoff.features import FEATURES
from tests.app_fixtures import anonymous_widget, default_answer
from tests.conversations.test_message_path import send
from tests.dbcheck import rows

Answer = Callable[[dict], dict]


def parses(*turns: tuple[str, str]) -> Answer:
    """The scripted Rasa's parse of each message in turn: (intent, sentiment label)."""
    queue = iter(turns)

    def answer(body: dict) -> dict:
        intent, label = next(queue)
        turn = default_answer(body)
        score = {"negative": -0.8, "neutral": -0.1, "positive": 0.7}[label]
        turn["parse"]["intent"] = {"name": intent, "confidence": 0.9}
        turn["parse"]["sentiment"] = {"label": label, "score": score, "confidence": 0.9}
        return turn

    return answer


def bot_texts(turn: dict) -> list[str]:
    return [r["text"] for r in turn["replies"]]


def cases_of(database_url: str, conversation_id: str) -> list[dict]:
    return rows(database_url, "SELECT reason FROM cases WHERE conversation_id = :c", c=conversation_id)


def test_a_polite_problem_report_answered_and_thanked_is_never_handed_over(
    client, widget, database_url, rasa
):
    rasa.answer = parses(("failed_payment", "neutral"), ("failed_payment", "neutral"), ("thanks", "positive"))
    texts = ["my card was declined", "it keeps failing, really annoying", "ok that worked, thanks!"]
    turns = [send(client, widget, text).json() for text in texts]
    assert all(HANDOFF_NOTICE not in bot_texts(t) for t in turns)
    assert cases_of(database_url, widget["conversation_id"]) == []


def test_two_dissatisfied_messages_in_a_row_hand_over_once(client, widget, database_url, rasa):
    rasa.answer = parses(("complaint", "negative"), ("complaint", "negative"))
    first = send(client, widget, "this is the worst service").json()
    assert HANDOFF_NOTICE not in bot_texts(first)  # one dissatisfied message: the bot apologises first
    second = send(client, widget, "you are useless, nobody ever helps").json()
    assert bot_texts(second)[-1] == HANDOFF_NOTICE
    assert cases_of(database_url, widget["conversation_id"]) == [
        {"reason": "two dissatisfied messages in a row"}
    ]


def test_two_messages_the_bot_did_not_understand_hand_over(client, widget, database_url, rasa):
    rasa.answer = parses(("nlu_fallback", "neutral"), ("nlu_fallback", "neutral"))
    send(client, widget, "asdf qwer")
    assert bot_texts(send(client, widget, "zzz blorp").json())[-1] == HANDOFF_NOTICE
    assert cases_of(database_url, widget["conversation_id"])[0]["reason"].startswith(
        "the bot did not understand"
    )




def test_with_the_policy_off_only_the_bot_hands_over(client_with, database_url, rasa):
    client = client_with(handoff_policy="off")
    widget = anonymous_widget(client)
    rasa.answer = parses(("complaint", "negative"), ("complaint", "negative"), ("complaint", "negative"))
    for text in ("awful", "still awful", "I'm done"):
        assert HANDOFF_NOTICE not in bot_texts(send(client, widget, text).json())
    assert cases_of(database_url, widget["conversation_id"]) == []


def learnt_policy_file(path: Path, threshold: float) -> Path:
    """A learnt policy that weighs only `negative_now`: scores 0.5 + for a negative message."""
    coef = [1.0 if name == "negative_now" else 0.0 for name in FEATURES]
    body = {
        "format": "supportdesk.handoff-policy.v1",
        "version": "test",
        "features": list(FEATURES),
        "mean": [0.0] * len(FEATURES),
        "scale": [1.0] * len(FEATURES),
        "coef": coef,
        "intercept": 0.0,
        "threshold": threshold,
    }
    path.write_text(json.dumps(body))
    return path


def test_the_learnt_policy_decides_when_configured(client_with, database_url, rasa, tmp_path):
    policy = learnt_policy_file(tmp_path / "policy.json", threshold=0.7)  # sigmoid(1) = 0.73 on a negative
    # A generous deadline: the default 50 ms for the policy's thread can pass on a loaded machine, and the
    # rules (which do not hand this turn over) would decide instead. The deadline has tests of its own.
    client = client_with(handoff_policy="learnt", handoff_model_path=policy, decision_deadline_ms=30_000)
    widget = anonymous_widget(client)
    rasa.answer = parses(("order_status", "neutral"), ("complaint", "negative"))
    assert HANDOFF_NOTICE not in bot_texts(send(client, widget, "where is my parcel").json())
    assert bot_texts(send(client, widget, "you lost it, great").json())[-1] == HANDOFF_NOTICE
    assert cases_of(database_url, widget["conversation_id"])[0]["reason"] == "dissatisfied in this message"


def test_a_missing_learnt_policy_leaves_the_rules_deciding(client_with, database_url, rasa, tmp_path):
    client = client_with(handoff_policy="learnt", handoff_model_path=tmp_path / "absent.json")
    widget = anonymous_widget(client)
    rasa.answer = parses(("request_human", "neutral"))
    assert bot_texts(send(client, widget, "a person please").json())[-1] == HANDOFF_NOTICE
    assert cases_of(database_url, widget["conversation_id"])[0]["reason"] == "the customer asked for a person"
