"""The cues widened after reading sets L's and M's held-out misses (issue 14, the eleventh and twelfth blind
writers' round): a person asked for after the bot's answer ("a human then") or to be told the need ("explain
it to a person"); someone else in the account asked as a question ("has someone been using my account?"),
signed "into" it, a profile detail "I didn't add" told after it, an order disowned at the end of its own
description; a consumer body named (the FTC), the customer's bank rung, custom taken "to" a rival. The
phrasings are written for the test in the general words of support chats, each family beside near misses that
must stay unread."""

import pytest

from backend.handoff.cues import cues_of


@pytest.mark.parametrize(
    "text",
    [
        "ok, an agent then please",
        "fine. a person then",
        "it's easier if I explain this to someone from your team",
    ],
)
def test_a_person_asked_for_in_other_words(text: str) -> None:
    assert cues_of(text).asks_for_person


@pytest.mark.parametrize(
    "text", ["then what happens to my points?", "explain it to me again please", "a person then checks it?"]
)
def test_near_misses_ask_for_no_person(text: str) -> None:
    assert not cues_of(text).asks_for_person


@pytest.mark.parametrize(
    "text",
    [
        "is somebody using my account? I got three order emails tonight",
        "I was told somebody logged into my account from Berlin",
        "a card ending 4411 is saved on my account now. I never added it",
        "there's an order in my list for two tents which I did not place",
    ],
)
def test_someone_else_in_the_account_in_other_words(text: str) -> None:
    assert cues_of(text).disowns


@pytest.mark.parametrize(
    "text",
    [
        "is anyone using the forum these days?",
        "how do I add a card to my account?",
        "I placed an order for tents, can I add a stove?",
    ],
)
def test_near_misses_disown_nothing(text: str) -> None:
    assert not cues_of(text).disowns


@pytest.mark.parametrize(
    "text",
    [
        "I'm writing to the FTC about this",
        "I will be calling my bank tomorrow morning",
        "after this I'm taking my business to a shop that answers",
    ],
)
def test_threats_in_other_words(text: str) -> None:
    assert cues_of(text).threatens


@pytest.mark.parametrize(
    "text",
    ["my bank says the card is fine", "can I take my order to a pickup point?", "calling it a day, thanks"],
)
def test_near_misses_threaten_nothing(text: str) -> None:
    assert not cues_of(text).threatens
