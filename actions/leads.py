"""Sales interest becomes a lead: the backend scores it and may hand the conversation to the sales team.

The bot only reports what happened: routed, the backend's hand-over message (a person from sales replies
next); otherwise, or when the backend cannot be reached, that the request went to the sales team. A failure
is logged and never shown: the customer asked to buy, and an error message would be the worst answer.

A plan change is upgrade interest too (issue 18 follow-up): action_note_upgrade_interest asks the backend for
a lead with the plan the customer named, if any, and says nothing, so the customer reads the same plan-change
answer as before. The backend decides whether it is an upgrade (a downgrade or a billing switch makes no
lead, backend/leads/upgrade.py) and never hands such a lead to the sales team.
"""

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend_client

logger = logging.getLogger(__name__)
SALES_INTENT = "sales_inquiry"
UPGRADE_INTENT = "change_plan"
PLAN_WORDS = ("plan", "membership", "basic", "plus", "pro")


def requested_plan(tracker: Tracker) -> str | None:
    """The plan asked for: a `product` entity of this message that names a plan, else the `product` slot
    when it does (set earlier, e.g. "how much is the Pro plan?" before "ok, upgrade me"); else None."""
    entities = tracker.latest_message.get("entities") or []
    named = [entity.get("value") for entity in entities if entity.get("entity") == "product"]
    for value in [*reversed(named), tracker.get_slot("product")]:
        if isinstance(value, str) and any(word in value.lower().split() for word in PLAN_WORDS):
            return value[:64]
    return None


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


class ActionNoteUpgradeInterest(Action):
    """Silent: the plan-change rule's first step; the customer reads utter_change_plan as before."""

    def name(self) -> str:
        return "action_note_upgrade_interest"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            await backend_client.capture_lead(tracker.sender_id, UPGRADE_INTENT, requested_plan(tracker))
        except backend_client.BackendError as error:
            logger.warning("upgrade lead for %s failed: %s", tracker.sender_id, error)
        return []
