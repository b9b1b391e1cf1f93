"""The cues widened after reading the held-out misses of sets N, O, P and Q (issue 14; each was scored blind
first, docs/benchmarks.md): a person asked for with a word about them ("could a nice person help",
"someone senior"), a reship asked of someone ("have someone send it again"); an answer not read, with an
adverb ("you're just not understanding me"); a review written as a warning, a last order in the past tense,
custom taken "somewhere that actually ships"; an order or charge disowned in a sentence of its own ("NOT
MINE."), by a non-customer, or as not approved; a dictated fragment ending on a hesitation or stammering an
article; and a typed yes qualified by "no point" / "no rush". The phrasings are written for the test in the
general words of support chats, each family beside near misses that must stay unread."""

import pytest

from backend.conversations.worded_answers import says_yes
from backend.handoff.cues import cues_of, is_garbled


@pytest.mark.parametrize(
    "text",
    [
        "could a kind person help me do this over the phone",
        "would a real human check it for me",
        "I want someone more senior to review the refund",
        "ok, have someone send them again to my work address",
    ],
)
def test_a_person_asked_for_with_a_word_about_them(text: str) -> None:
    assert cues_of(text).asks_for_person


@pytest.mark.parametrize(
    "text",
    ["a nice person at the post office helped me", "my senior dad ordered it", "can you send it again?"],
)
def test_near_misses_ask_for_no_person(text: str) -> None:
    assert not cues_of(text).asks_for_person


@pytest.mark.parametrize(
    "text", ["you're clearly not reading my messages", "you are still not understanding what I need"]
)
def test_an_answer_not_read_with_an_adverb(text: str) -> None:
    assert cues_of(text).not_helped


@pytest.mark.parametrize(
    "text",
    [
        "I'll be writing about this on every review site there is",
        "leaving an honest review so other people know what you're like",
        "that was my last order, I'm done",
        "this was the last time I order from you",
        "I'll get my boots somewhere that actually answers emails",
    ],
)
def test_threats_in_other_words(text: str) -> None:
    assert cues_of(text).threatens


@pytest.mark.parametrize(
    "text",
    [
        "I'll leave a nice review, thanks!",
        "is there a review page for the tent?",
        "I'm leaving for my trip tomorrow, will it arrive?",
        "I'm leaving the company so I need to change my email",
        "where can I buy the poles somewhere near me?",
    ],
)
def test_near_misses_threaten_nothing(text: str) -> None:
    assert not cues_of(text).threatens


@pytest.mark.parametrize(
    "text",
    [
        "Not mine! Someone else ordered this",
        "these are not mine. what is going on",
        "I've never registered or ordered anything with you, why is there a charge",
        "we did not authorise any of these",
    ],
)
def test_disowned_in_other_words(text: str) -> None:
    assert cues_of(text).disowns


@pytest.mark.parametrize(
    "text",
    ["the choice is not mine to make", "I never registered, can I order as a guest?", "did you approve it?"],
)
def test_near_misses_disown_nothing(text: str) -> None:
    assert not cues_of(text).disowns


@pytest.mark.parametrize(
    "text", ["it's about the uh", "I wanted the the", "the the green one with um", "and then my um, erm"]
)
def test_dictated_fragments(text: str) -> None:
    assert is_garbled(text)


@pytest.mark.parametrize(
    "text",
    [
        "I uh need to return the jacket",
        "the green one please",
        "is the the order shipped?",
        "um where is my order",
    ],
)
def test_near_misses_are_not_fragments(text: str) -> None:
    assert not is_garbled(text)


@pytest.mark.parametrize(
    "text", ["yes reship it, no rush", "yes please refund, no point sending it now"]
)
def test_a_yes_qualified_by_a_no_still_says_yes(text: str) -> None:
    assert says_yes(text)


@pytest.mark.parametrize("text", ["yes but no refund", "yes, no, wait", "yes - no point, forget it"])
def test_a_yes_taken_back_says_no(text: str) -> None:
    assert not says_yes(text)
