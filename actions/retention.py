"""Before a cancellation: a retention offer for customers the churn model says are likely to leave.

The backend decides (churn risk at or above its threshold, offer chosen by the rules in
backend/risk/rules.py); the bot only presents it. The outcome goes into the `retention` slot: `offered` waits
for the customer's yes or no (both lead to a person, who applies the offer or handles the cancellation),
`none` explains how to cancel, as for any other customer. A backend failure also means `none`: a customer who
wants to leave is never held up by an error.
"""

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend_client, messages

logger = logging.getLogger(__name__)


class ActionRetentionOffer(Action):
    def name(self) -> str:
        return "action_retention_offer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            decision = await backend_client.retention_offer(tracker.sender_id)
        except backend_client.BackendError as error:
            logger.warning("retention offer for %s failed: %s", tracker.sender_id, error)
            return [SlotSet("retention", "none")]
        if decision.offer is None or not decision.offer.strip():
            return [SlotSet("retention", "none")]
        dispatcher.utter_message(
            text=messages.retention_offer(decision.offer), buttons=list(messages.RETENTION_BUTTONS)
        )
        return [SlotSet("retention", "offered")]
