"""What the actions say to customers. Texts that do not depend on backend data live in bot/domain.yml."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from contract.quick_replies import PERSON_OFFER_BUTTONS as PERSON_OFFER_BUTTONS
from contract.quick_replies import RETENTION_BUTTONS as RETENTION_BUTTONS
from contract.quick_replies import YES_OR_NO_THANKS, YES_PLEASE_OR_NO_THANKS
from contract.service_api import KnowledgeHit, Order, OrderItem, RecentOrder

TALK_TO_A_PERSON: dict[str, str] = {"title": "Talk to a person", "payload": "/request_human"}

# The order form's question to a signed-in shopper, whose latest orders follow as buttons (actions/orders.py
# ActionAskOrderId); a visitor gets utter_ask_order_id, the number alone.
ASK_ORDER_ID_OR_PICK = (
    "Which order is it about? Pick one of your latest orders below, or type its number (it looks like "
    "ORD-123456)."
)


def intent_payload(intent: str, entities: Mapping[str, str] | None = None) -> str:
    """A button's payload as Rasa reads it: '/intent', or '/intent{"entity": "value"}' with entities."""
    return f"/{intent}{json.dumps(dict(entities))}" if entities else f"/{intent}"


def recent_order_button(order: RecentOrder) -> dict[str, str]:
    """A latest order as a button whose payload gives the form its number, as a typed "ORD-..." would."""
    placed = order.placed_at
    return {
        "title": f"{order.order_id} ({order.status}, placed {placed:%b} {placed.day})",
        "payload": intent_payload("inform", {"order_id": order.order_id}),
    }


INVALID_ORDER_ID = (
    "Hmm, that doesn't look like an order number: they start with ORD- followed by 6 digits. "
    "If you can't find yours, just say \"no\" and I'll help another way, or talk to a person."
)
INVALID_ORDER_ID_EMAIL = (
    "Thanks! I can only look orders up by their order number, not by email address. "
    "It starts with ORD- followed by 6 digits."
)


# An anonymous visitor's look-up (README "Security"): the backend tells nothing about an order until the
# visitor gives the email address it was placed with. Each is followed by the form's question for it
# (utter_ask_order_email), as the number's explanations are by utter_ask_order_id.
def order_email_needed(order_id: str) -> str:
    return (
        f"Happy to check {order_id} for you. As you're not signed in, I first need to confirm it's your "
        "order, so that order details stay private."
    )


def order_email_mismatch(order_id: str) -> str:
    # Says nothing of which was wrong: the backend answers a wrong email as it answers a missing order.
    return (
        f"Sorry, I couldn't find order {order_id} with that email address. Please check both in your order "
        "confirmation email: you can type the email address again, or the right order number."
    )


INVALID_ORDER_EMAIL = (
    "Hmm, that doesn't look like an email address (like name@example.com). If you don't have it to hand, "
    "just say \"no\", or talk to a person."
)
# Too many addresses matched no order in this conversation: the backend looks up none here any more.
ORDER_LOOKUPS_REFUSED = (
    "I'm sorry, I can't look up orders in this chat any more: too many of the email addresses given didn't "
    "match."
)
ORDER_LOOKUPS_REFUSED_OFFER = (
    f"{ORDER_LOOKUPS_REFUSED} A person from our team can help you with your order. Would you like me to "
    "connect you?"
)

HANDOFF_FAILED = (
    "I couldn't hand this chat over automatically just now, but don't worry: a member of our team will "
    "follow up with you right here as soon as possible."
)

# The bot's offers of a person (actions/handoff.py). Actions say them, not the domain's responses, because
# the backend may take the turn over instead: then the lead-in stays and the question gives way to the
# hand-over (issue 14). The cancellation info and "order system unreachable" end in such an offer too.
# Their yes/no buttons are contract/quick_replies.py's, so the backend can read a yes typed in words to them.
PERSON_OFFER = (
    "Would you like me to connect you with a person from our team? They'll reply right here in this chat."
)
# A thanks in answer to any of those offers (bot/data/rules.yml, "... - thanks"): the bot has not solved it,
# so no "happy to help" and no "anything else?", and thanks is not a yes, so the offer stays open.
WELCOME_OFFER_STANDS = (
    "You're welcome. If you'd still like someone from our team to look into it, just say so and I'll connect "
    "you."
)
COMPLAINT_APOLOGY = "I'm really sorry about your experience, that's not the standard we want to give you."
COMPLAINT_OFFER = "Would you like me to pass this to a person from our team so they can put it right?"
COMPLAINT_OFFER_BUTTONS = YES_OR_NO_THANKS
BILLING_ANSWER = (
    "You can see every charge, with its invoice, under Account > Billing > Invoices. Subscriptions renew on "
    "the same day each month (or year), and you can change your card under Account > Billing > Payment "
    "methods."
)
# Said after the answer when the customer did not report a wrong charge (the answer is then "anything else?").
BILLING_PERSON_IF_WRONG = (
    "If you see a charge you don't recognise or you were charged twice, just ask for a person and our "
    "billing team will look into it straight away."
)
# Asked instead when they did: only the billing team can refund or correct a charge.
BILLING_WRONG_CHARGE_OFFER = (
    "Only our billing team can check and correct a charge. Would you like me to connect you with them? "
    "They'll reply right here in this chat."
)
CANCEL_INFO = (
    "You can cancel any time under Account > Subscription > Cancel. Monthly plans stay active until the end "
    "of the month you've paid for, and yearly plans can be refunded pro rata within the first 30 days. Your "
    "order history and invoices stay available, and you can come back whenever you like."
)
CANCEL_OFFER = (
    "Before you go, would you like to talk to someone from our team? They can also tell you about options "
    "such as moving to a cheaper plan."
)
CANCEL_OFFER_BUTTONS = YES_OR_NO_THANKS
# Account security (action_security_concern): the intent also reads worries a person need not handle
# ("which devices are signed in?"), so the policy decides; when it takes the turn, the lead-in stays.
SECURITY_HANDOFF = (
    "I'm sorry, that sounds worrying. Account security problems are always handled by a person from our team."
)
SECURITY_ADVICE = (
    "To keep your account safe: if you didn't make a change you were told about, reset your password "
    "straight away with Sign in > Forgot password, and check Account > Orders for orders you didn't place. "
    "We never ask for your password in chat or by email."
)
SECURITY_OFFER = (
    "If someone else has been in your account, a person from our team will check its recent activity. "
    "Would you like me to connect you?"
)
SECURITY_OFFER_BUTTONS = YES_OR_NO_THANKS
# Said by action_out_of_scope, unless the hand-off policy takes the turn.
OUT_OF_SCOPE = (
    "Sorry, that's outside what I can help with. I can help with orders and deliveries, returns and refunds, "
    "billing and invoices, your subscription plan and your Northwind account. What can I do for you?"
)
# A detail given out of context (an e-mail, an order number with no question): what the bot can do with it.
INFORM_ACK = (
    "Thanks! What would you like me to help you with? If it's about an order, I can check its status with "
    "the order number (it looks like ORD-123456)."
)
# A second request to cancel after the information: the customer has read it, so it is not said again in full.
CANCEL_INFO_AGAIN = (
    "To cancel, open Account > Subscription > Cancel: it takes a minute, and your plan stays active until "
    "the end of the period you've paid for."
)
# Said before the hand-over when the policy takes a cancellation asked for again (a person cancels it).
CANCEL_BY_PERSON = "Of course. A person from our team will cancel it for you."
CANCEL_OFFER_AGAIN = (
    "If you'd rather someone from our team did it for you, I can pass you to a person. Would you like that?"
)
# Said alone when the policy hands over: "or I can pass this to a person" is moot once one is coming.
ORDER_LOOKUP_FAILED = (
    "Sorry, I can't reach our order system right now. You can see your order status under Account > Orders."
)
ORDER_LOOKUP_FAILED_OFFER = (
    "Sorry, I can't reach our order system right now. You can see your order status under Account > Orders, "
    "or I can pass this to a person from our team. Would you like that?"
)
ORDER_LOOKUP_FAILED_BUTTONS = YES_PLEASE_OR_NO_THANKS

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
    "product_question": "a question about our products or how we ship them",
    "pricing": "our prices and plans",
    "complaint": "a complaint about our service",
    "request_human": "talking to a person from our team",
    "security_concern": "someone else using your account, or an order or charge you didn't make",
    "sales_inquiry": "buying for a business or a team, or in bulk",
}


def affirmation_question(topic: str) -> str:
    return f"Just to make sure I understood: is this about {topic}?"


# ---- the order look-up's reply ----------------------------------------------------------------------------
# The whole reply is worded from the order the backend returned, and nothing is said before the look-up: an
# apology for a delay ahead of it was contradicted whenever the order turned out to be delivered (issue 14).
# Lateness is judged from the estimated delivery date against today, so a "shipped" order whose date has
# passed is called late rather than "on its way" with a date in the past.

# Northwind's late-delivery policy (knowledge base "late-delivery"): most late parcels arrive within two
# business days of the estimated date; past 5 business days we reship or refund, as the customer prefers.
REFUND_AFTER_BUSINESS_DAYS = 5
_MOST_ARRIVE_SOON = "Most late parcels arrive within two business days of the estimated date."
_RESHIP_IF_LATER = (
    f"If it ends up more than {REFUND_AFTER_BUSINESS_DAYS} business days late, we'll reship it for free or "
    "refund you in full, whichever you prefer."
)
_RESHIP_NOW = (
    f"As it's now more than {REFUND_AFTER_BUSINESS_DAYS} business days late, we'll reship it for free or "
    "refund you in full, whichever you prefer."
)
# Past that point a person arranges it, and the reply asks whether to, with Yes and No: as prose followed by
# "anything else?", a customer's "yes please" answered the wrong question (issue 14).
_ARRANGE_RESHIP = "Would you like a person from our team to arrange the reship or the refund?"
_ARRANGE_REFUND = "Would you like a person from our team to arrange the refund?"


@dataclass(frozen=True)
class OrderReply:
    """What action_lookup_order says before "anything else?": one message, with a "Talk to a person" button
    when its advice is to ask for one if need be (a delivered parcel that cannot be found)."""

    text: str
    buttons: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class PersonOffer:
    """A look-up's reply that ends on a yes/no offer of a person, which the rules branch on instead of
    "anything else?": the facts and advice, then the offer (dropped if the policy hands over)."""

    facts: str
    offer: str
    buttons: tuple[dict[str, str], ...] = YES_PLEASE_OR_NO_THANKS

    @property
    def text(self) -> str:
        return f"{self.facts} {self.offer}"


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
    # The estimated delivery date has passed (worded as late), and by how many business days (the policy's
    # measure: a date that passed on Friday is not yet a business day late on Sunday, but it is late).
    overdue: bool
    business_days_late: int
    due_today: bool

    @property
    def past_refund_limit(self) -> bool:
        """Late enough that the policy reships or refunds now, without waiting for the parcel."""
        return self.overdue and self.business_days_late > REFUND_AFTER_BUSINESS_DAYS


def order_reply(order: Order, today: date) -> OrderReply | PersonOffer:
    """The reply to "where is my order" / "my order hasn't arrived", from the backend's order."""
    view = _view(order, today)
    status, advice = _BY_STATUS.get(view.status, _other_status)(view)
    items = f"Items: {view.items}." if view.items else ""
    text = " ".join(part for part in (status, items, advice) if part)
    offer = _offer_now(view)
    if offer:
        return PersonOffer(text, offer)
    # Whenever the advice is to ask for a person, the button saves typing it.
    return OrderReply(text, (TALK_TO_A_PERSON,) if '"talk to a person"' in advice else ())


def _offer_now(o: _OrderView) -> str | None:
    """The person the late-delivery policy calls for now: a reship or refund past the limit."""
    if not o.past_refund_limit:
        return None
    if o.status == "processing":  # not shipped, so nothing to reship
        return _ARRANGE_REFUND
    return _ARRANGE_RESHIP if o.status in ("shipped", "delayed") else None


def _view(order: Order, today: date) -> _OrderView:
    eta = order.estimated_delivery
    return _OrderView(
        number=order.order_id or "your order",
        status=order.status.lower() or "unknown",
        carrier=_text(order.carrier),
        tracking=_text(order.tracking_number),
        eta=_friendly_date(eta, with_weekday=True),
        placed=_friendly_date(order.placed_at.date(), with_weekday=False),
        items=_items(order.items),
        overdue=eta is not None and eta < today,
        business_days_late=0 if eta is None else business_days_between(eta, today),
        due_today=eta == today,
    )


def business_days_between(start: date, end: date) -> int:
    """Weekdays after `start` up to and including `end` (0 when `end` is not after `start`)."""
    days = (end - start).days
    if days <= 0:
        return 0
    weeks, rest = divmod(days, 7)
    extra = sum(1 for offset in range(1, rest + 1) if (start + timedelta(days=offset)).weekday() < 5)
    return weeks * 5 + extra


# Each status gives (what is happening, what the customer can expect or do); the items go in between.
def _processing(o: _OrderView) -> tuple[str, str]:
    placed = f" (placed on {o.placed})" if o.placed else ""
    ships = "You'll get an email with the tracking number as soon as it ships."
    if o.overdue:
        # Not shipped yet, so there is nothing to reship: the policy's other half, a full refund, applies.
        refund = (
            f" As it's now more than {REFUND_AFTER_BUSINESS_DAYS} business days late, we can refund you in "
            "full if you'd rather not wait."
            if o.past_refund_limit
            else ""
        )
        return (
            f"I'm sorry, order {o.number}{placed} is running late: it was due by {o.eta} and is still being "
            "packed at our warehouse.",
            ships + refund,
        )
    arrival = f" It should arrive {_by(o)}." if o.eta else ""
    return f"Order {o.number}{placed} is being packed at our warehouse.{arrival}", ships


def _shipped(o: _OrderView) -> tuple[str, str]:
    where = f"on its way with {o.carrier or 'our carrier'}{_tracking(o)}"
    if o.overdue:
        return (
            f"I'm sorry, order {o.number} is running late. It's {where}; it was due on {o.eta}.",
            _late_advice(o),
        )
    arrival = f" It should arrive {_by(o)}." if o.eta else ""
    return f"Good news: order {o.number} is {where}.{arrival}", ""


def _delayed(o: _OrderView) -> tuple[str, str]:
    where = f"It's with {o.carrier or 'our carrier'}{_tracking(o)}"
    sorry = f"I'm sorry, order {o.number} is delayed. {where}"
    if o.eta is None:
        return f"{sorry}, and I don't have a new delivery date for it yet.", _RESHIP_IF_LATER
    if o.overdue:
        return f"{sorry}; it was due on {o.eta}.", _late_advice(o)
    new_date = "today" if o.due_today else o.eta
    return f"{sorry}, and the new estimated delivery date is {new_date}.", _RESHIP_IF_LATER


def _delivered(o: _OrderView) -> tuple[str, str]:
    carrier = f" by {o.carrier}" if o.carrier else ""
    # The backend has no time of delivery, only the delivery date it planned; the carrier's tracking has the
    # exact time and place.
    facts = [f"delivery date: {o.eta}"] if o.eta else []
    facts += [f"tracking number {o.tracking}"] if o.tracking else []
    details = f" ({'; '.join(facts)})" if facts else ""
    return (
        f"Order {o.number} has been delivered{carrier}{details}.",
        "The tracking link under Account > Orders shows when and where it was left. If you can't find it, "
        "please check around your door, your mailbox and with your neighbours; if it's still missing, "
        'say "talk to a person" and our team will sort it out.',
    )


def _cancelled(o: _OrderView) -> tuple[str, str]:
    return (
        f"Order {o.number} was cancelled, so it won't be shipped.",
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


def _by(o: _OrderView) -> str:
    return "today" if o.due_today else f"by {o.eta}"


def _tracking(o: _OrderView) -> str:
    return f" (tracking number {o.tracking})" if o.tracking else ""


def _late_advice(o: _OrderView) -> str:
    if o.past_refund_limit:
        return _RESHIP_NOW
    return f"{_MOST_ARRIVE_SOON} {_RESHIP_IF_LATER}"


# ---- "it's still not here" after the order's answer ------------------------------------------------------
# Repeating the answer told the customer nothing new (issue 14). The follow-up gives the knowledge base's
# late-delivery advice ("late-delivery" in backend/seed_articles.py) as it applies to the order's real status,
# and offers a person who can open a trace with the carrier. Its facts come from the order fetched again, so
# a delivered order is a "delivered but not received" case, never "on its way".
_CHECK_TRACKING = (
    'The tracking link under Account > Orders shows where it is; a status of "exception" usually means the '
    "carrier needs a better address or a signature."
)
_NO_NEED_TO_WAIT = "you don't need to wait for the carrier's investigation"


def still_missing_reply(order: Order, today: date) -> PersonOffer:
    """The reply to "it's still not here" right after the bot answered about this order."""
    view = _view(order, today)
    if view.status == "delivered":
        return _delivered_not_received(view)
    if view.status in ("shipped", "delayed"):
        return _still_on_its_way(view)
    if view.status == "processing":
        return _not_shipped_yet(view)
    # Cancelled, returned or unknown: the status stands, and a person can look into what was expected.
    status, advice = _BY_STATUS.get(view.status, _other_status)(view)
    return PersonOffer(" ".join(p for p in (status, advice) if p), _LOOK_INTO_IT)


_LOOK_INTO_IT = "Would you like a person from our team to look into it?"


def _delivered_not_received(o: _OrderView) -> PersonOffer:
    carrier = o.carrier or "our carrier"
    when = f" on {o.eta}" if o.eta else ""
    facts = (
        f"I'm sorry it hasn't reached you. {carrier} recorded order {o.number} as delivered{when}"
        f"{_tracking(o)}, so this is a parcel delivered but not received. The tracking link under "
        "Account > Orders shows when and where it was left; it's worth checking around your door, your "
        "mailbox and with your neighbours."
    )
    return PersonOffer(facts, f"Would you like a person from our team to open a trace with {carrier}?")


def _still_on_its_way(o: _OrderView) -> PersonOffer:
    carrier = o.carrier or "our carrier"
    trace = f"open a trace with {carrier}"
    if not o.overdue:
        due = "it's due today" if o.due_today else (f"it isn't due until {o.eta}" if o.eta else "")
        where = f"Order {o.number} is with {carrier}{_tracking(o)}"
        when = f", and {due}." if due else ", and I don't have a new delivery date for it yet."
        facts = f"I understand the wait. {where}{when} {_CHECK_TRACKING} {_RESHIP_IF_LATER}"
        offer = f"Would you like a person from our team to check on it with {carrier}?"
        return PersonOffer(facts, offer)
    late = (
        f"I'm sorry order {o.number} still hasn't reached you: it was due on {o.eta} and is with "
        f"{carrier}{_tracking(o)}."
    )
    if o.past_refund_limit:
        policy = (
            f"As it's now more than {REFUND_AFTER_BUSINESS_DAYS} business days late, we'll reship it for "
            f"free or refund you in full, whichever you prefer, and {_NO_NEED_TO_WAIT}."
        )
        offer = f"Would you like a person from our team to arrange that and {trace}?"
    else:
        policy = f"{_MOST_ARRIVE_SOON} {_RESHIP_IF_LATER}"
        offer = f"Would you like a person from our team to {trace} now?"
    return PersonOffer(f"{late} {_CHECK_TRACKING} {policy}", offer)


def _not_shipped_yet(o: _OrderView) -> PersonOffer:
    status, advice = _processing(o)
    facts = f"Order {o.number} hasn't shipped yet, so it can't have reached you. {status} {advice}"
    return PersonOffer(facts, _LOOK_INTO_IT)


def _text(value: str | None) -> str | None:
    return None if value is None else value.strip() or None


def _friendly_date(value: date | None, with_weekday: bool) -> str | None:
    """2026-11-05 -> "Thursday, November 5"."""
    if value is None:
        return None
    day = f"{value:%B} {value.day}"
    return f"{value:%A}, {day}" if with_weekday else day


def _items(items: Sequence[OrderItem]) -> str | None:
    """(Headlamp 400 x 2, ...) -> "Headlamp 400 (2), ..."."""
    names = [
        f"{item.product} ({item.quantity})" if item.quantity > 1 else item.product
        for item in items
        if item.product
    ]
    return ", ".join(names) or None


KB_NOT_SURE = "I'm not sure I have the right answer to that, and I'd rather not guess."
KB_UNAVAILABLE = "I can't reach our help articles just now, sorry about that."


def knowledge_repeated(hit: KnowledgeHit) -> str:
    """The article the bot would answer with is the one it gave in its last reply: saying it again tells the
    customer nothing new, so the bot points at it and offers a person instead (the rules, kb_answer
    `repeated`). Pointing at it also serves a follow-up question the same passage already answered."""
    return f'The answer just above, from our help article "{hit.title}", is all it says about that.'


def knowledge_closest(hit: KnowledgeHit) -> str:
    """Flow kb-not-sure, variant suggest_closest: the closest article, not passed off as the answer."""
    return (
        "I'm not sure I have the right answer to that, but this is the closest I found, from our help "
        f'article "{hit.title}":{_passage(hit.snippet)}'
    )


def knowledge_answer(hit: KnowledgeHit) -> str:
    """The top article's best passage, introduced by the article's title (the link follows as a citation)."""
    return f'From our help article "{hit.title}":{_passage(hit.snippet)}'


def _passage(snippet: str) -> str:
    """The snippet after the introduction's colon. One that opens with a Markdown table (the backend keeps
    small tables as rows, backend/kb/views.py) starts on a line of its own, or the widget sees no table."""
    return f"\n{snippet}" if snippet.startswith("|") else f" {snippet}"


def retention_offer(offer: str) -> str:
    """The offer the backend chose for this customer, before the cancellation goes ahead."""
    return (
        "I'm sorry to hear you want to leave. Before you go, we'd like to keep you: "
        f"{offer.rstrip('.')}. Would you like that instead of cancelling?"
    )
