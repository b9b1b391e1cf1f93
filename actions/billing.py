"""Billing questions: where charges, invoices and renewals are, and a person offered for a wrong charge.

A customer who reports a charge as wrong (twice, too much, not recognised, after cancelling) needs the billing
team, who alone can correct it: the answer ends on a yes/no offer of a person (or the hand-off policy's
hand-over), which the rules branch on through the `billing_answer` slot. Any other billing question gets the
answer, a line on how to reach the billing team, and "anything else?". A charge the customer says they did
not make is security_concern, not this (bot/data/nlu/billing.yml).
"""

import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.handoff import ActionOfferPerson

ANSWERED, PERSON_OFFERED = "answered", "person_offered"

# A charge reported as wrong, in the words customers use for it; a question about when or how they pay is
# not one. Checked in tests/bot/test_billing.py with near misses ("when is my next charge?").
_WRONG_CHARGE = re.compile(
    r"\b((charged|billed|paid|taken|charges?)\b[^.?!]{0,40}\btwice|double[- ]?charged"
    r"|charged (me )?(two|2) times|two (payments|charges)|charged 2x"
    r"|duplicate (charge|payment)|over-?charged|wrong amount|too much|charged .*after (i )?cancel"
    r"|(charge|payment)[^.?!]{0,30}\b(don'?t|do not|didn'?t) (recogni[sz]e|understand)"
    r"|\b(don'?t|do not|didn'?t) (recogni[sz]e|understand)[^.?!]{0,30}\b(charge|payment)"
    r"|unknown charge|charged .*for nothing"
    r"|extra charge|charged .*extra|without (asking|my permission)"
    # a charge for what the customer does not have: another plan, an order cancelled or returned, something
    # never received ("charged for Plus but I'm on Basic", "billed for the jacket I returned")
    r"|(charged|billed) (me )?for (the )?(wrong|another|a different) (plan|subscription|item|order|product)"
    r"|\b(charged|billed)\b[^.?!]{0,40}\b(but|though|yet) (i'?m|i am|i was|i'?ve been) (only |still )?on\b"
    r"|\b(charged|billed)\b[^.?!]{0,40}\b(but|though|yet) i (downgraded|switched|cancell?ed|returned|never)\b"
    r"|\b(charged|billed)\b[^.?!]{0,40}\b(i|we) "
    r"(cancell?ed|returned|never (received|got|ordered|signed up))\b)",
    re.IGNORECASE,
)
# "will I be charged for the items I returned?": a question about what a charge would be, not a report of
# one; "why do I get charged twice?" stays a report.
_ASKS_WHAT_WOULD_BE_CHARGED = re.compile(
    r"^(?!.*\bwhy\b).*\b(will|would|do|does|am|if) (i|we|you|it) (still )?(be |get )?(charged|billed)\b",
    re.IGNORECASE,
)


def reports_a_wrong_charge(text: str) -> bool:
    return bool(_WRONG_CHARGE.search(text)) and not _ASKS_WHAT_WOULD_BE_CHARGED.search(text)


class ActionAnswerBilling(ActionOfferPerson):
    """The billing answer; for a wrong charge, with the offer of the billing team (ActionOfferPerson's)."""

    lead_in = messages.BILLING_ANSWER
    question = f"{messages.BILLING_ANSWER} {messages.BILLING_WRONG_CHARGE_OFFER}"
    buttons = messages.YES_PLEASE_OR_NO_THANKS
    action_name = "action_answer_billing"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if reports_a_wrong_charge(tracker.latest_message.get("text") or ""):
            await super().run(dispatcher, tracker, domain)
            return [SlotSet("billing_answer", PERSON_OFFERED)]
        dispatcher.utter_message(text=f"{messages.BILLING_ANSWER} {messages.BILLING_PERSON_IF_WRONG}")
        return [SlotSet("billing_answer", ANSWERED)]
