"""The cues widened (issue 14, leave-one-writer-out round) with the families of the bot's own NLU examples for
`not_helpful`, `complaint` and `security_concern` (bot/data/nlu/), each beside near misses that must stay
unread. The phrasings here are written for the test, not copied from the labelled conversations."""

import pytest

from backend.handoff.cues import asks_for_person, cues_of


@pytest.mark.parametrize(
    "text",
    [
        "that isn't what I was asking about at all",
        "you answered a different question",
        "my question wasn't about refunds",
        "your answer doesn't match what I asked",
        "that was no help, sorry",
        "you're not helping",
        "a very unhelpful reply",
        "did that too but it didn't make any difference",
        "restarted the router like you suggested and it still drops",
        "followed your steps, nothing changed",
        "tried that, no luck",
        "didnt hlep",
        "the steps you sent don't work on my phone",
        "that doesn't really help",
    ],
)
def test_an_answer_that_did_not_help_in_the_families_of_the_bots_examples(text: str) -> None:
    assert cues_of(text).not_helped


@pytest.mark.parametrize(
    "text",
    [
        "does it make a difference which card I use?",
        "it doesn't make a difference to me which colour",
        "no help needed, thanks!",
        "what I'm looking for is a blue jacket in size M",
        "nothing has changed on my order since Monday",
        "my parcel is stuck at the depot in Woking",
        "the app doesn't open since the update",
    ],
)
def test_questions_preferences_and_problem_reports_are_not_a_didnt_help(text: str) -> None:
    assert not cues_of(text).not_helped


@pytest.mark.parametrize(
    "text",
    [
        "I'm really disappointed with your service",
        "not happy with how this was handled",
        "your support team has been absolutely useless",
        "how can you treat loyal customers like this",
        "you don't care about customers at all, do you",
        "I expected far better from Northwind",
        "your service has gone downhill",
    ],
)
def test_dissatisfaction_said_to_the_company_is_blame(text: str) -> None:
    assert cues_of(text).blames


@pytest.mark.parametrize(
    "text",
    [
        "I'm disappointed the jacket doesn't fit",
        "so frustrated with the courier, they left it in the rain",
        "your team was really helpful last time",
        "I'm so frustrated, my card keeps failing",
    ],
)
def test_disappointment_with_the_situation_or_a_third_party_is_not_blame(text: str) -> None:
    assert not cues_of(text).blames


@pytest.mark.parametrize(
    "text",
    [
        "nobody ever replies to my emails",
        "you never answered my message from last week",
        "still waiting for a reply from your team",
        "I keep getting ignored",
        "you promised to call me back",
    ],
)
def test_earlier_contacts_in_the_families_of_the_bots_complaints(text: str) -> None:
    assert cues_of(text).earlier_contacts


@pytest.mark.parametrize(
    "text",
    ["the promised delivery date has passed", "I was promised delivery by Tuesday", "waiting for my parcel"],
)
def test_a_missed_delivery_date_is_not_an_earlier_contact(text: str) -> None:
    assert not cues_of(text).earlier_contacts


@pytest.mark.parametrize(
    "text",
    [
        "there are two purchases on my account that aren't mine",
        "there's a charge I know nothing about",
        "my email was changed by someone else",
        "my card was used without my permission",
        "somebody's been ordering on my account",
        "a stranger has access to my account",
        "there's a login from a device I don't own",
        "acount hacked",
        "my password was reset but I never touched it",
    ],
)
def test_someone_else_in_the_account_in_the_families_of_the_bots_examples(text: str) -> None:
    assert cues_of(text).disowns


@pytest.mark.parametrize(
    "text",
    [
        "I got an email asking for my password, is it fraud?",
        "I sold my old phone and it's still signed in",
        "the parcel I got isn't mine, it has someone else's name on it",
        "can I change my address without my password?",
        "I never touched the settings and now the app won't load",
    ],
)
def test_risks_nobody_used_and_mixed_up_parcels_are_not_someone_else_in_the_account(text: str) -> None:
    assert not cues_of(text).disowns


def test_mending_typos_for_the_other_cues_leaves_the_request_for_a_person_as_it_was() -> None:
    assert asks_for_person("can i tlak to a real persn") and not asks_for_person("didnt hlep")
