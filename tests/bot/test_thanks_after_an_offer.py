"""Thanks in answer to an offer of a person (bot/data/rules.yml, "... - thanks"): not "happy to help" and
"anything else?", as the general thanks rule says, since the bot has not solved it, and no hand-over, since
thanks is not a yes. action_welcome_offer_stands says "you're welcome" and keeps the offer open, with the
buttons of the contract, unless the backend's hand-off policy takes the turn (a threat the NLU read as
thanks): then the hand-over alone. The rules are read from the files; `rasa test core`
(bot/tests/test_stories.yml) plays them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from actions import messages
from actions.handoff import ActionWelcomeOfferStands
from contract.quick_replies import PERSON_OFFER_BUTTONS
from contract.service_api import HANDOFF_MESSAGE
from tests.bot.scripted_backend import HANDED_OVER, LEFT_TO_THE_BOT
from tests.bot.test_one_voice_followups import run

BOT = Path(__file__).resolve().parents[2] / "bot"
DOMAIN = yaml.safe_load((BOT / "domain.yml").read_text())
RULES = yaml.safe_load((BOT / "data" / "rules.yml").read_text())["rules"]
STANDS = "action_welcome_offer_stands"
# An offer the general thanks rule still answers: the cancellation info answered the question asked.
ANSWERED_ANYWAY = {"action_cancel_info"}
AFTER_STANDS = (yaml.safe_dump({"action": STANDS}),)
GENERAL_THANKS = [{"intent": "thanks"}, {"action": "utter_youre_welcome"}, {"action": "utter_anything_else"}]


def _answer(steps: list[dict[str, Any]], intent: str) -> tuple[tuple[str, ...], str] | None:
    """(the steps before the customer's answer, the first action after it) when the rule answers `intent`."""
    for at, step in enumerate(steps[:-1]):
        if step.get("intent") == intent and "action" in steps[at + 1]:
            return tuple(yaml.safe_dump(s, sort_keys=True) for s in steps[:at]), steps[at + 1]["action"]
    return None


def _by_offer(intent: str) -> dict[tuple[str, ...], str]:
    answers = (_answer(rule["steps"], intent) for rule in RULES if "condition" not in rule)
    return {before: action for before, action in filter(None, answers) if before}


def _offer_action(before: tuple[str, ...]) -> str:
    return yaml.safe_load(before[0])["action"]


def test_every_offer_of_a_person_answers_thanks_with_the_offer_kept_open():
    handed_over = {before for before, action in _by_offer("affirm").items() if action == "action_handoff"}
    thanks = _by_offer("thanks")
    offers = {before for before in handed_over if _offer_action(before) not in ANSWERED_ANYWAY | {STANDS}}
    assert len(offers) == 9  # a new offer: give it a thanks rule, or say here why not
    assert {before: thanks.get(before) for before in offers} == {before: STANDS for before in offers}


def test_the_offer_kept_open_is_answered_like_an_offer():
    after = {intent: _by_offer(intent).get(AFTER_STANDS) for intent in ("affirm", "deny", "thanks")}
    assert after == {"affirm": "action_handoff", "deny": "utter_no_problem", "thanks": "utter_goodbye"}


def test_no_anything_else_follows_it_and_the_general_thanks_rule_is_unchanged():
    for rule in RULES:
        steps = rule["steps"]
        for at, step in enumerate(steps[:-1]):
            if step.get("action") == STANDS:
                assert "intent" in steps[at + 1], rule["rule"]
        if steps and steps[-1].get("action") == STANDS:
            assert rule.get("wait_for_user_input", True), rule["rule"]
    general = [rule["steps"] for rule in RULES if rule["rule"] == "thanks"]
    assert general == [GENERAL_THANKS]


def test_the_reply_says_welcome_keeps_the_offer_and_has_the_contract_buttons():
    assert STANDS in DOMAIN["actions"] and "utter_welcome_offer_stands" not in DOMAIN["responses"]
    text = messages.WELCOME_OFFER_STANDS
    assert text.startswith("You're welcome.") and "connect you" in text
    assert "?" not in text and "help" not in text.lower()  # no question of its own, no "happy to help"
    assert ActionWelcomeOfferStands().name() == STANDS


@pytest.mark.parametrize("answer", [LEFT_TO_THE_BOT, None], ids=["left to the bot", "backend down"])
def test_left_to_the_bot_the_offer_stays_open(backend, answer):
    backend.offer = answer
    [message], _ = run(ActionWelcomeOfferStands(), "thanks", {}, [])
    assert message["text"] == messages.WELCOME_OFFER_STANDS
    assert tuple(message["buttons"]) == PERSON_OFFER_BUTTONS
    assert any(path.endswith("/conv-1/person-offer") for path in backend.calls)


def test_a_thanks_the_backend_takes_over_is_the_hand_over_alone(backend):
    backend.offer = HANDED_OVER
    [handed], _ = run(ActionWelcomeOfferStands(), "thanks", {}, [])
    assert handed == {**handed, "text": HANDOFF_MESSAGE, "buttons": []}
