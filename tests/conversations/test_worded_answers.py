"""Which typed messages answer the yes/no on screen as one of its buttons (backend/conversations/
worded_answers.py), and which questions count (contract/quick_replies.py)."""

from pathlib import Path

import pytest
import yaml

from backend.conversations.worded_answers import says_yes, still_cancels
from contract.quick_replies import PERSON_OFFERS, RETENTION_BUTTONS, offers_a_person, offers_to_stay

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "Yeah go on",
        "sure",
        "yes please, a replacement would be great",
        "oh yes, send them again please",
        "Thanks. Then yes, please arrange it.",
        "I'd like it before Friday. So yes, go ahead and reship.",
        "yep someone please",
        "YES PLS connect me",
        "yes I'm sure, cancel it",
    ],
)
def test_a_yes_that_accepts_the_offer(text: str) -> None:
    assert says_yes(text)


@pytest.mark.parametrize(
    "text",
    [
        "no thanks",
        "yes but I'd rather wait a few days",
        "yes it came today after all",
        "not yet, yes maybe later",
        "ok refund please",
        "I said yes to the newsletter, how do I stop it?",
        "please tell me the price first",
        "yes, don't bother a person, just tell me the date",
    ],
)
def test_other_messages_are_not_a_yes(text: str) -> None:
    assert not says_yes(text)


@pytest.mark.parametrize(
    "text",
    [
        "Thanks but I've decided. Cancel it please.",
        "no, just close my account",
        "yes I'm sure, stop the plan",
    ],
)
def test_the_cancellation_asked_again_turns_the_retention_offer_down(text: str) -> None:
    assert still_cancels(text)


@pytest.mark.parametrize(
    "text",
    [
        "ok I'll take that, don't cancel",
        "no need to cancel then, sounds good",
        "what does the offer include?",
    ],
)
def test_taking_the_offer_or_asking_about_it_is_not_a_cancellation(text: str) -> None:
    assert not still_cancels(text)


def test_the_offers_of_a_person_are_yes_no_pairs_and_the_retention_offer_is_not_one() -> None:
    assert all([b["payload"] for b in offer] == ["/affirm", "/deny"] for offer in PERSON_OFFERS)
    retention = [dict(b) for b in RETENTION_BUTTONS]  # as stored: a JSON list
    assert offers_to_stay(retention) and not offers_a_person(retention)
    assert not offers_a_person(None) and not offers_a_person([]) and not offers_to_stay(None)


def test_every_yes_no_response_of_the_domain_is_an_offer_of_a_person_the_backend_knows() -> None:
    """A response offering a person with buttons other than the contract's would not get worded yeses read."""
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())
    yes_no = [
        variant["buttons"]
        for variants in domain["responses"].values()
        for variant in variants
        if [b.get("payload") for b in variant.get("buttons", [])] == ["/affirm", "/deny"]
    ]
    assert yes_no and all(offers_a_person(buttons) or offers_to_stay(buttons) for buttons in yes_no)
