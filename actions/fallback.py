"""Overrides of Rasa's fallback actions (listed under `actions:` in bot/domain.yml, so Rasa calls these).

How a misunderstanding plays out:

0. NLU confidence < 0.5 gives intent nlu_fallback. An unclear intent is not an unclear question: "do you
   gift wrap?" matches none of the intents yet the knowledge base may answer it, so action_try_knowledge
   (below) asks the knowledge search first and answers, citing the article, when it is confident. Silent
   otherwise, so the customer hears no "I'm not sure" before the question that follows.
1. Not answered from the knowledge base, the backend's hand-off policy is asked (the person-offer route, as
   before any offer of a person): if it takes the turn (a request for a person the NLU could not read, in
   another language, say), the customer hears the hand-over alone (kb_answer handed_over) and nothing follows.
   Otherwise the rule "an unclear message the knowledge base does not answer
   starts the two-stage fallback" runs action_two_stage_fallback, which asks action_default_ask_affirmation
   (below) for a friendly "Just to make sure I understood: is this about ...?" with Yes/No buttons.
2. "No" (payload /out_of_scope) makes it ask utter_ask_rephrase; a clear answer ends the fallback as if the
   customer had said that in the first place. A typed "yes" or "no" is such an answer to Rasa (`affirm`,
   `deny`); actions/bare_answers.py reads it as the button the customer meant.
3. A second unclear message, or "no" twice, makes the fallback give up: it runs action_default_fallback.

Rasa's stock action_default_fallback utters utter_default and reverts the customer's message
(UserUtteranceReverted). That erases the give-up from the dialogue state, so a human offer made by it would be
invisible to the policies and the customer's "yes" to it would have no question to answer. Our override
returns no events instead. The tracker then ends in "action_two_stage_fallback, active_loop: null", and the
rule "the two-stage fallback gives up - offer a person" says utter_default and action_offer_person, whose
yes/no rules hand over or ask to rephrase. That rule starts at the loop's last step (conditioned on the loop),
not at the customer's message: starting at "nlu_fallback" it would contradict step 0's rules. A clarified
message cannot match it: the loop reverts its own step when the customer confirms a topic.

The same override serves RulePolicy's core fallback (no confident next action): the tracker ends in
"action_default_fallback" and the rule "low action confidence - offer a person" answers. Neither path can
loop, because both rules end by waiting for the customer. bot/tests/test_stories.yml covers the give-up path
("two unclear messages end in a human offer") and step 0 ("an unclear message the knowledge base answers").
"""

import json
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend_client, messages
from actions.handoff import hand_over_if_the_policy_takes_it
from actions.knowledge import answer

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


class ActionTryKnowledge(Action):
    """An unclear message may still be a question the knowledge base answers (step 0 of the docstring)."""

    def name(self) -> str:
        return "action_try_knowledge"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        question = (tracker.latest_message.get("text") or "").strip()
        if not question:
            return [SlotSet("kb_answer", "not_sure")]
        try:
            found = await backend_client.search_knowledge(question, conversation_id=tracker.sender_id)
        except backend_client.BackendError as error:
            # The two-stage fallback still helps without the search: fall through to it, silently.
            logger.warning("knowledge search (unclear message) failed in %s: %s", tracker.sender_id, error)
            return [SlotSet("kb_answer", "not_sure")]
        if not found.answerable or not found.results:
            return [SlotSet("kb_answer", await self._not_answered(dispatcher, tracker))]
        return [SlotSet("kb_answer", answer(dispatcher, tracker, found.results))]

    @staticmethod
    async def _not_answered(dispatcher: CollectingDispatcher, tracker: Tracker) -> str:
        """"handed_over" when the hand-off policy takes the turn (a request for a person the NLU could not
        read, say, in another language), so the two-stage fallback's question does not follow the notice."""
        return "handed_over" if await hand_over_if_the_policy_takes_it(dispatcher, tracker) else "not_sure"


class ActionOutOfScope(Action):
    """A request outside the assistant's topics: what it can help with, unless the backend's hand-off policy
    takes the turn (a request for a person the NLU read as out of scope, say, in another language): then the
    hand-over alone, not "What can I do for you?" beside "I'm connecting you". Subclasses say another `reply`
    the same way."""

    reply: str = messages.OUT_OF_SCOPE
    action_name: str = "action_out_of_scope"

    def name(self) -> str:
        return self.action_name

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not await hand_over_if_the_policy_takes_it(dispatcher, tracker):
            dispatcher.utter_message(text=self.reply)
        return []


class ActionInformAck(ActionOutOfScope):
    """A detail given out of context: what the bot can do with it, unless the backend's hand-off policy takes
    the turn (two dictated fragments in a row, say): then the hand-over alone, not "What would you like me to
    help you with?" above "I'm connecting you"."""

    reply = messages.INFORM_ACK
    action_name = "action_inform_ack"


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
    return messages.intent_payload(intent, entities)


def parse_payload(payload: str) -> tuple[str, list[dict[str, Any]]]:
    """`confirm_payload` read back: '/order_status{"order_id": "ORD-1"}' -> ("order_status",
    [{"entity": "order_id", "value": "ORD-1"}])."""
    intent, brace, rest = payload.removeprefix("/").partition("{")
    values = json.loads(brace + rest) if brace else {}
    return intent, [{"entity": name, "value": value} for name, value in values.items()]
