"""ml/agreement.py: a second person's labels matched to the test set and scored like a decider."""

from pathlib import Path

import pytest
import yaml

from ml import agreement
from ml.conversations import LabelledConversation, LabelledTurn
from ml.replay import ReplayedTurn, score


def turn(text: str, handoff: bool = False, sentiment: str = "neutral") -> LabelledTurn:
    return LabelledTurn(text, sentiment, handoff, "H1" if handoff else None)


FIRST = [
    LabelledConversation("c1", None, (turn("hi"), turn("where is my order"), turn("get me a person", True))),
    LabelledConversation("c2", None, (turn("how much is plus"), turn("thanks", sentiment="positive"))),
]


def replayed(text: str) -> ReplayedTurn:
    return ReplayedTurn("greet", "neutral", 0.0, False, (), text)


def second_file(tmp_path: Path, decisions: dict[str, list[str]]) -> Path:
    body = {
        "conversations": [
            {
                "id": c.id,
                "turns": [
                    {
                        "text": t.text,
                        "sentiment": "neutral",
                        "decision": d,
                        **({"rule": "H3"} if d == "handoff" else {}),
                    }
                    for t, d in zip(c.turns, decisions[c.id], strict=True)
                ],
            }
            for c in FIRST
        ]
    }
    path = tmp_path / "second.yml"
    path.write_text(yaml.safe_dump(body))
    return path


def test_a_second_person_who_hands_over_one_turn_early_scores_a_false_positive(tmp_path: Path) -> None:
    path = second_file(tmp_path, {"c1": ["continue", "handoff", "handoff"], "c2": ["continue", "continue"]})
    second = agreement.load_second(path, FIRST)
    replay = agreement.keyed_replay({c.id: [replayed(t.text) for t in c.turns] for c in FIRST})
    against_first = score(FIRST, replay, agreement.person_as_decider(second))
    # The conversation ends at a decider's first hand-off: the turn after it is not scored.
    counts = (against_first.true_positive, against_first.false_positive, against_first.false_negative)
    assert counts == (0, 1, 0)
    # Under the rules' reading the second person's labels stop at their first hand-off.
    second_set = [agreement.as_labelled(c, second[c.id]) for c in FIRST]
    assert [len(c.turns) for c in second_set] == [2, 2]
    first_labels = {c.id: c.turns for c in FIRST}
    against_second = score(second_set, replay, agreement.person_as_decider(first_labels))
    assert (against_second.true_positive, against_second.false_negative) == (0, 1)


def test_labels_of_other_texts_are_refused(tmp_path: Path) -> None:
    path = second_file(tmp_path, {"c1": ["continue"] * 3, "c2": ["continue"] * 2})
    body = yaml.safe_load(path.read_text())
    body["conversations"][1]["turns"][0]["text"] = "how much is basic"
    path.write_text(yaml.safe_dump(body))
    with pytest.raises(ValueError, match="differ"):
        agreement.load_second(path, FIRST)


def test_a_conversation_left_out_is_refused(tmp_path: Path) -> None:
    path = second_file(tmp_path, {"c1": ["continue"] * 3, "c2": ["continue"] * 2})
    body = yaml.safe_load(path.read_text())
    del body["conversations"][1]
    path.write_text(yaml.safe_dump(body))
    with pytest.raises(ValueError, match="not labelled: c2"):
        agreement.load_second(path, FIRST)
