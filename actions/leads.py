"""Sales interest becomes a lead: the backend scores it and may hand the conversation to the sales team.

The bot only reports what happened: routed, the backend's hand-over message (a person from sales replies
next); otherwise, or when the backend cannot be reached, that the request went to the sales team. A failure
is logged and never shown: the customer asked to buy, and an error message would be the worst answer.
"""

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend_client

logger = logging.getLogger(__name__)
SALES_INTENT = "sales_inquiry"


class ActionCaptureLead(Action):
    def name(self) -> str:
        return "action_capture_lead"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or SALES_INTENT
        try:
            lead = await backend_client.capture_lead(tracker.sender_id, intent)
        except backend_client.BackendError as error:
            logger.warning("lead capture for %s failed: %s", tracker.sender_id, error)
            dispatcher.utter_message(response="utter_sales_noted")
            return []
        if lead.routed and lead.message and lead.message.strip():
            dispatcher.utter_message(text=lead.message)
        else:
            dispatcher.utter_message(response="utter_sales_noted")
        return []
