"""The labelled in-domain conversations: the shape docs/labelling.md promises, and a split that holds."""

from pathlib import Path

import pytest
import yaml

from ml import conversations
from ml.conversations import split_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def items() -> list[conversations.LabelledConversation]:
    return conversations.load()


def test_the_set_is_large_enough_and_split_by_conversation(items):
    assert len(items) >= 150
    assert sum(len(c.turns) for c in items) >= 500
    dev, test = conversations.of_split(items, "dev"), conversations.of_split(items, "test")
    assert len(dev) + len(test) == len(items) and min(len(dev), len(test)) >= 50
    assert {c.id for c in dev}.isdisjoint(c.id for c in test)
    # Both sides have hand-offs of every rule and every sentiment, so neither side is trivial.
    for part in (dev, test):
        assert {t.rule for c in part for t in c.turns if t.rule} == set(conversations.RULES)
        assert {t.sentiment for c in part for t in c.turns} == set(conversations.SENTIMENTS)


def test_split_depends_only_on_the_id():
    assert split_of("a001") == split_of("a001")
    assert {split_of(f"x{i}") for i in range(20)} == {"dev", "test"}


def test_no_turn_copies_the_bots_training_examples(items):
    examples = set()
    for path in (ROOT / "bot" / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                examples.add(line.removeprefix("- ").strip().lower())
    copied = [
        t.text for c in items for t in c.turns if t.text.strip().lower() in examples and len(t.text) > 12
    ]
    assert copied == []


def test_invalid_labels_are_refused(tmp_path):
    bad = {
        "conversations": [
            {"id": "z1", "turns": [{"text": "human now", "sentiment": "neutral", "decision": "handoff"}]}
        ]
    }
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ValueError, match="names its rule"):
        conversations.load([path])
    after = {
        "conversations": [
            {
                "id": "z2",
                "turns": [
                    {"text": "agent", "sentiment": "neutral", "decision": "handoff", "rule": "H1"},
                    {"text": "hello?", "sentiment": "neutral", "decision": "continue"},
                ],
            }
        ]
    }
    path.write_text(yaml.safe_dump(after))
    with pytest.raises(ValueError, match="stop at the first handoff"):
        conversations.load([path])


def test_a_set_may_declare_its_split(tmp_path):
    body = {
        "split": "test",
        "conversations": [
            {"id": "a001", "turns": [{"text": "hi", "sentiment": "neutral", "decision": "continue"}]}
        ],
    }
    path = tmp_path / "held_out.yml"
    path.write_text(yaml.safe_dump(body))
    (declared,) = conversations.load([path])
    assert declared.split == "test" != split_of("a001")
    path.write_text(yaml.safe_dump(body | {"split": "train"}))
    with pytest.raises(ValueError, match="not dev or test"):
        conversations.load([path])
