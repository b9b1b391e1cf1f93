"""What the actions say to customers. Texts that do not depend on backend data live in bot/domain.yml."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

TALK_TO_A_PERSON: dict[str, str] = {"title": "Talk to a person", "payload": "/request_human"}

INVALID_ORDER_ID = (
    "Hmm, that doesn't look like an order number: they start with ORD- followed by 6 digits. "
    "If you can't find yours, just say \"no\" and I'll help another way, or talk to a person."
)
INVALID_ORDER_ID_EMAIL = (
    "Thanks! I can only look orders up by their order number, not by email address. "
    "It starts with ORD- followed by 6 digits."
)

# Same words as the backend's own confirmation, used when its reply carries no message.
HANDOFF_CONFIRMATION = "I'm connecting you with a member of our team. They'll reply right here in this chat."
HANDOFF_FAILED = (
    "I couldn't hand this chat over automatically just now, but don't worry: a member of our team will "
    "follow up with you right here as soon as possible."
)

# "Is this about <topic>?" for the two-stage fallback. Intents without a topic (greet, affirm, inform...)
# make no sense to confirm, so for those the customer is asked to rephrase instead.
AFFIRMATION_TOPICS: dict[str, str] = {
    "order_status": "checking where your order is",
    "shipping_delay": "a parcel that is late or hasn't arrived",
    "return_refund": "a return or a refund",
    "billing_question": "a charge or your bill",
    "invoice_copy": "getting a copy of an invoice or receipt",
    "failed_payment": "a payment that didn't go through",
    "change_plan": "changing your subscription plan",
    "cancel_subscription": "cancelling your subscription",
    "reset_password": "resetting your password",
    "account_locked": "a locked account",
    "update_details": "updating your account details",
    "technical_problem": "a problem with our website or app",
    "product_question": "a question about one of our products",
    "pricing": "our prices and plans",
    "complaint": "a complaint about our service",
    "request_human": "talking to a person from our team",
}


def affirmation_question(topic: str) -> str:
    return f"Just to make sure I understood: is this about {topic}?"


@dataclass(frozen=True)
class _OrderView:
    """The order fields a message needs, already formatted; None where the backend has no value."""

    number: str
    status: str
    carrier: str | None
    tracking: str | None
    eta: str | None
    placed: str | None
    items: str | None


def order_status(order: Mapping[str, Any]) -> str:
    """One message telling the customer where the order is, from the backend's order JSON."""
    view = _view(order)
    status, advice = _BY_STATUS.get(view.status, _other_status)(view)
    items = f"Items: {view.items}." if view.items else ""
    return " ".join(part for part in (status, items, advice) if part)


def _view(order: Mapping[str, Any]) -> _OrderView:
    return _OrderView(
        number=str(order.get("order_id") or "your order"),
        status=str(order.get("status") or "unknown").lower(),
        carrier=_text(order.get("carrier")),
        tracking=_text(order.get("tracking_number")),
        eta=_friendly_date(order.get("estimated_delivery"), with_weekday=True),
        placed=_friendly_date(order.get("placed_at"), with_weekday=False),
        items=_items(order.get("items")),
    )


# Each status gives (what is happening, what the customer can expect or do); the items go in between.
def _processing(o: _OrderView) -> tuple[str, str]:
    placed = f" was placed on {o.placed} and" if o.placed else ""
    arrival = f" It should arrive by {o.eta}." if o.eta else ""
    return (
        f"Order {o.number}{placed} is being packed at our warehouse.{arrival}",
        "You'll get an email with the tracking number as soon as it ships.",
    )


def _shipped(o: _OrderView) -> tuple[str, str]:
    tracking = f" Tracking number: {o.tracking}." if o.tracking else ""
    arrival = f" Estimated delivery: {o.eta}." if o.eta else ""
    carrier = o.carrier or "our carrier"
    return f"Good news: order {o.number} is on its way with {carrier}.{tracking}{arrival}", ""


def _delayed(o: _OrderView) -> tuple[str, str]:
    tracking = f", tracking number {o.tracking}" if o.tracking else ""
    arrival = f" The latest estimated delivery date is {o.eta}." if o.eta else ""
    # The reship-or-refund promise is Northwind's late-delivery policy (knowledge base "late-delivery").
    return (
        f"I'm sorry, order {o.number} is running late. It's with {o.carrier or 'our carrier'}{tracking}."
        f"{arrival}",
        "If it ends up more than 5 business days late, we'll reship it for free or refund you in full, "
        "whichever you prefer.",
    )


def _delivered(o: _OrderView) -> tuple[str, str]:
    carrier = f" by {o.carrier}" if o.carrier else ""
    tracking = f" (tracking number {o.tracking})" if o.tracking else ""
    return (
        f"Order {o.number} has been delivered{carrier}{tracking}.",
        "If you can't find it, please check around your door, your mailbox and with your neighbours; if "
        'it\'s still missing, say "talk to a person" and our team will sort it out.',
    )


def _cancelled(o: _OrderView) -> tuple[str, str]:
    return (
        f"Order {o.number} was cancelled.",
        "If you were charged, the refund goes back to your original payment method within 5 business days.",
    )


def _returned(o: _OrderView) -> tuple[str, str]:
    return (
        f"We've received the return of order {o.number}.",
        "Your refund goes back to your original payment method within 5 business days of the return "
        "reaching our warehouse.",
    )


def _other_status(o: _OrderView) -> tuple[str, str]:
    return f'Order {o.number} currently has the status "{o.status}".', ""


_BY_STATUS = {
    "processing": _processing,
    "shipped": _shipped,
    "delayed": _delayed,
    "delivered": _delivered,
    "cancelled": _cancelled,
    "returned": _returned,
}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


def _friendly_date(value: Any, with_weekday: bool) -> str | None:
    """ "2026-11-05" -> "Thursday, November 5"; None for missing or unreadable values."""
    if not isinstance(value, str) or not value:
        return None
    try:
        # Reads both dates and datetimes; Python 3.10's fromisoformat does not accept a trailing "Z".
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    day = f"{parsed:%B} {parsed.day}"
    return f"{parsed:%A}, {day}" if with_weekday else day


def _items(value: Any) -> str | None:
    """[{"product": "Headlamp 400", "quantity": 2}, ...] -> "Headlamp 400 (2), ..."."""
    if not isinstance(value, list):
        return None
    names = []
    for item in value:
        if not isinstance(item, Mapping) or not item.get("product"):
            continue
        product, quantity = str(item["product"]), item.get("quantity")
        names.append(f"{product} ({quantity})" if isinstance(quantity, int) and quantity > 1 else product)
    return ", ".join(names) or None


KB_NOT_SURE = "I'm not sure I have the right answer to that, and I'd rather not guess."
KB_UNAVAILABLE = "I can't reach our help articles just now, sorry about that."


def knowledge_answer(hit: Mapping[str, Any]) -> str:
    """The top article's best passage, introduced by the article's title (the link follows as a citation)."""
    return f'From our help article "{hit.get("title", "")}": {hit.get("snippet", "")}'


RETENTION_BUTTONS = [
    {"title": "Yes, I'd like that", "payload": "/affirm"},
    {"title": "No, I still want to cancel", "payload": "/deny"},
]


def retention_offer(offer: str) -> str:
    """The offer the backend chose for this customer, before the cancellation goes ahead."""
    return (
        "I'm sorry to hear you want to leave. Before you go, we'd like to keep you: "
        f"{offer.rstrip('.')}. Would you like that instead of cancelling?"
    )
