"""Each text's cues are read once (backend/handoff/cues.py `cues_of`): the same cues as reading them again,
for every customer message of the labelled conversations, keyed by a digest that keeps no customer words."""

import pytest

from backend.core.digest_memo import DigestMemo
from backend.handoff import cues
from ml import conversations

pytestmark = pytest.mark.unit


@pytest.fixture
def empty_memo(monkeypatch: pytest.MonkeyPatch) -> DigestMemo[cues.Cues]:
    memo: DigestMemo[cues.Cues] = DigestMemo(4096)
    monkeypatch.setattr(cues, "_SEEN", memo)
    return memo


def test_remembered_cues_are_the_cues_read_again(empty_memo: DigestMemo[cues.Cues]) -> None:
    texts = [turn.text for c in conversations.load() for turn in c.turns if turn.text]
    assert len(texts) > 500
    first = [cues.cues_of(text) for text in texts]  # read, and remembered
    assert empty_memo
    assert [cues.cues_of(text) for text in texts] == first  # remembered
    assert first == [cues._read_cues(text) for text in texts]  # read again, without the memo


def test_the_memo_keeps_digests_not_words(empty_memo: DigestMemo[cues.Cues]) -> None:
    text = "my account was hacked, get me a real person"
    assert cues.cues_of(text).asks_for_person
    assert all(scope == () and len(key) == 16 for scope, key in empty_memo.entries)
    assert text.encode() not in b"".join(key for _, key in empty_memo.entries)


def test_odd_texts_and_a_full_memo(
    empty_memo: DigestMemo[cues.Cues], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(empty_memo, "size", 3)
    lone_surrogate = "need a person \ud800 now"  # what a JSON "\ud800" decodes to: not encodable as UTF-8
    assert cues.cues_of(lone_surrogate) == cues._read_cues(lone_surrogate)
    assert cues.cues_of("") == cues.cues_of(None) == cues.Cues(False, False, False)
    for n in range(10):
        assert cues.cues_of(f"this is message {n}, get me a human") == cues._read_cues(
            f"this is message {n}, get me a human"
        )
        assert len(empty_memo) <= 3
