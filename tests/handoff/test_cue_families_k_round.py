"""The cues widened after reading set K's held-out misses (issue 14, the tenth blind writer's round):
contempt as "do you people even check", an answer found empty ("that tells me nothing", "that doesn't say"),
a step done with the fault as before ("updated it, same thing", "exactly like before"), "get me a real one"
after asking whether the bot is one, "does a real person read this?" as a question about the bot, a change to
the account denied ("password was changed ... I haven't changed anything", an address "I never added"), and
a plan closed or stopped in other verbs ("go ahead and close it", "please stop it now"). The phrasings are
written for the test in the general words of support chats, each family beside near misses that must stay
unread."""

import pytest

from backend.handoff.cues import cues_of


def test_contempt_put_as_a_question_blames() -> None:
    assert cues_of("do you guys even check what you send out").blames
    assert not cues_of("do you even ship to alaska?").blames


@pytest.mark.parametrize(
    "text",
    [
        "ok that tells me nothing about when it arrives",
        "this doesn't say. is it from the order date?",
        "rebooted the phone, signed out, same thing",
        "cleared everything like the steps say, crashes exactly like before",
    ],
)
def test_the_answer_found_empty_or_the_fault_as_before(text: str) -> None:
    assert cues_of(text).not_helped


@pytest.mark.parametrize(
    "text",
    [
        "can I order the same jacket in blue?",
        "it doesn't say so on the site but I assume so",
        "my old phone did the same thing",
    ],
)
def test_near_misses_say_no_help_failed(text: str) -> None:
    assert not cues_of(text).not_helped


def test_a_real_one_asked_for() -> None:
    assert cues_of("haha fine, give me a real one then").asks_for_person
    assert not cues_of("is the leather real or fake?").asks_for_person


@pytest.mark.parametrize(
    "text", ["does a real person read these messages?", "is this all automatic or can a human see it"]
)
def test_asking_whether_people_read_is_no_request(text: str) -> None:
    assert not cues_of(text).asks_for_person


@pytest.mark.parametrize(
    "text",
    [
        "got a notice my email address was changed tonight but I didn't change it",
        "there is a card in my wallet settings which I never added",
    ],
)
def test_a_change_to_the_account_denied(text: str) -> None:
    assert cues_of(text).disowns


@pytest.mark.parametrize(
    "text", ["I changed my address last week, did the order get it?", "which card did I add last time?"]
)
def test_near_misses_disown_nothing(text: str) -> None:
    assert not cues_of(text).disowns


@pytest.mark.parametrize("text", ["fine, go ahead and close my account", "please end the subscription today"])
def test_a_plan_closed_in_other_verbs(text: str) -> None:
    assert cues_of(text).asks_to_cancel


@pytest.mark.parametrize("text", ["please stop sending me emails", "just close the chat, I'm done here"])
def test_other_things_stopped_are_no_cancellation(text: str) -> None:
    assert not cues_of(text).asks_to_cancel
