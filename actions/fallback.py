"""Overrides of Rasa's fallback actions (listed under `actions:` in bot/domain.yml, so Rasa calls these).

How a misunderstanding plays out:

1. NLU confidence < 0.5 gives intent nlu_fallback; the rule "unclear message starts the two-stage fallback"
   runs action_two_stage_fallback, which asks action_default_ask_affirmation (below) for a friendly
   "Just to make sure I understood: is this about ...?" with Yes/No buttons.
2. "No" (payload /out_of_scope) makes it ask utter_ask_rephrase; a clear answer ends the fallback as if the
   customer had said that in the first place.
3. A second unclear message, or "no" twice, makes the fallback give up: it runs action_default_fallback.

Rasa's stock action_default_fallback utters utter_default and reverts the customer's message
(UserUtteranceReverted). That erases the give-up from the dialogue state, so a human offer made by it would be
invisible to the policies and the customer's "yes" to it would have no question to answer. Our override
returns no events instead. The tracker then ends in "action_two_stage_fallback, active_loop: null", and the
rule "the two-stage fallback gives up - offer a person" says utter_default and utter_handoff_offer, whose
yes/no rules hand over or ask to rephrase. The same override serves RulePolicy's core fallback (no confident
next action): the tracker ends in "action_default_fallback" and the rule "low action confidence - offer a
person" answers. Neither path can loop, because both rules end by waiting for the customer. The give-up path
is covered by bot/tests/test_stories.yml ("two unclear messages end in a human offer").
"""

import json
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages

logger = logging.getLogger(__name__)

NLU_FALLBACK = "nlu_fallback"
# The two-stage fallback treats this intent as "no, that's not what I meant".
REJECT_PAYLOAD = "/out_of_scope"


class ActionDefaultFallback(Action):
    """Silent on purpose: the rules after the fallback apologise and offer a person (see module docstring)."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        gave_up = tracker.active_loop_name == "action_two_stage_fallback"
        where = "the two-stage fallback gave up" if gave_up else "no confident next action"
        logger.info("fallback in conversation %s: %s", tracker.sender_id, where)
        return []


class ActionDefaultAskAffirmation(Action):
    """Asks "is this about <topic>?" in words instead of Rasa's "Did you mean 'intent_name'?"."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = intent_to_confirm(tracker.latest_message)
        topic = messages.AFFIRMATION_TOPICS.get(intent or "")
        if intent is None or topic is None:
            # Nothing worth confirming ("did you mean hello?"); asking to rephrase is more useful.
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        dispatcher.utter_message(
            text=messages.affirmation_question(topic),
            buttons=[
                {"title": "Yes", "payload": confirm_payload(intent, tracker.latest_message)},
                {"title": "No", "payload": REJECT_PAYLOAD},
            ],
        )
        return []


def intent_to_confirm(latest_message: dict[str, Any]) -> str | None:
    """The best guess behind nlu_fallback: the top intent of the ranking other than nlu_fallback itself."""
    intent = (latest_message.get("intent") or {}).get("name")
    if intent != NLU_FALLBACK:
        return intent
    for candidate in latest_message.get("intent_ranking") or []:
        name = candidate.get("name")
        if name and name != NLU_FALLBACK:
            return name
    return None


def confirm_payload(intent: str, latest_message: dict[str, Any]) -> str:
    """'/intent{"entity": "value"}': the "Yes" button keeps what the customer mentioned (e.g. an order id)."""
    entities = {
        entity["entity"]: entity["value"]
        for entity in latest_message.get("entities") or []
        if isinstance(entity.get("entity"), str) and isinstance(entity.get("value"), str)
    }
    return f"/{intent}{json.dumps(entities)}" if entities else f"/{intent}"
