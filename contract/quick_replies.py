"""The yes/no quick replies that end the bot's offers of a person and its retention offer, shared by the
action server (which offers them) and the backend (which reads a typed answer to them).

A yes clicked on such an offer reaches Rasa as its payload and the bot's yes/no rules hand over. A yes
typed with more words ("yes please, go ahead with the trace") is often no intent the NLU knows, so the
rules never see the yes: the backend sends it as the Yes button's payload when one of these offers is on
screen (backend/conversations/worded_answers.py). The retention offer's yes/no is not one of them: a yes
there keeps the customer, and "yes I'm sure, close it" says the opposite, read as its No.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

AFFIRM, DENY = "/affirm", "/deny"
# In the metadata of a message the backend sent Rasa as a button's payload: what the customer typed or
# clicked, so the agent's brief can quote a typed answer's words ("yes, reship it, express please").
CUSTOMER_TEXT_KEY = "customer_text"
NO_THANKS = {"title": "No, thanks", "payload": DENY}
PERSON_OFFER_BUTTONS: tuple[dict[str, str], ...] = (
    {"title": "Yes, connect me", "payload": AFFIRM},
    NO_THANKS,
)
YES_OR_NO_THANKS: tuple[dict[str, str], ...] = (
    {"title": "Yes, talk to a person", "payload": AFFIRM},
    NO_THANKS,
)
YES_PLEASE_OR_NO_THANKS: tuple[dict[str, str], ...] = (
    {"title": "Yes, please", "payload": AFFIRM},
    NO_THANKS,
)
PERSON_OFFERS = (PERSON_OFFER_BUTTONS, YES_OR_NO_THANKS, YES_PLEASE_OR_NO_THANKS)
# The retention offer's: a yes keeps the customer; a no (or the cancellation asked again) goes to a person.
RETENTION_BUTTONS: tuple[dict[str, str], ...] = (
    {"title": "Yes, I'd like that", "payload": AFFIRM},
    {"title": "No, I still want to cancel", "payload": DENY},
)


def offers_a_person(buttons: Iterable[Any] | None) -> bool:
    """Whether a reply's buttons are those of an offer of a person."""
    return buttons is not None and tuple(buttons) in PERSON_OFFERS


def offers_to_stay(buttons: Iterable[Any] | None) -> bool:
    """Whether a reply's buttons are the retention offer's."""
    return buttons is not None and tuple(buttons) == RETENTION_BUTTONS
