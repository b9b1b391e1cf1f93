"""The service API (/api/v1/service) as the action server sees it: request and response types, and the
constants the bot and the backend must agree on.

Standard library only, and Python 3.10 syntax: the action server's venv pins pydantic 1 (Rasa 3.6) while
the backend runs pydantic 2, so no model class could serve both. The backend's pydantic models are checked
against these dataclasses field by field (tests/service_api/test_contract.py), and a test calls the real
backend through actions/backend_client.py (tests/e2e/test_contract.py), so neither side can drift unnoticed.

Each response type reads the backend's JSON with `from_json`, which raises `ContractError` for a body that
does not match (a missing field, a wrong type), and writes it back with `to_json` (what the backend sends;
`asdict` where every field is already a JSON value).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from types import MappingProxyType
from typing import Any

# ---- shared constants --------------------------------------------------------------------------------------

# What the customer reads when the conversation goes to a person: the backend sends it as the hand-off
# notice and in the hand-off response; the action server says it when that response carries no message.
HANDOFF_MESSAGE = "I'm connecting you with a member of our team. They'll reply right here in this chat."

# The skill a case needs follows from what the customer last asked about (the last topical intent).
DEFAULT_SKILL = "general"
SKILL_BY_INTENT: Mapping[str, str] = MappingProxyType({
    "billing_question": "billing", "invoice_copy": "billing", "failed_payment": "billing",
    "return_refund": "billing", "pricing": "sales", "change_plan": "sales", "product_question": "general",
    "cancel_subscription": "retention", "technical_problem": "technical", "reset_password": "technical",
    "account_locked": "technical", "update_details": "general", "order_status": "general",
    "shipping_delay": "general", "complaint": "general",
    # Product questions are asked by customers who already own the product (a broken zip, sizes, care, how
    # we ship) as often as by buyers, so they go to the general team; buying in bulk or for a team is sales.
    # Account security (someone else in the account, charges or orders not made) goes with the other
    # account cases (locked, password) to the technical team.
    "security_concern": "technical",
    # Business accounts, bulk orders, team plans, quotes: a lead (backend/leads/), and its people are sales.
    "sales_inquiry": "sales",
})  # fmt: skip

# Intents that say nothing about what the customer needs: the case's skill (backend) and the hand-off brief's
# topic (action server) both come from the last intent that is not one of these. "That didn't help"
# (not_helpful) is about the bot's last answer; the need it failed is in an earlier message.
NON_TOPICAL_INTENTS: frozenset[str] = frozenset({
    "affirm", "deny", "inform", "greet", "goodbye", "thanks", "chitchat", "compliment", "bot_challenge",
    "out_of_scope", "request_human", "nlu_fallback", "not_helpful",
})  # fmt: skip

MAX_HANDOFF_REASON_CHARS = 500  # the backend refuses a longer reason (422)


class ContractError(ValueError):
    """A body that does not match the contract: the other side runs another version, or a bug."""


# ---- reading JSON values strictly --------------------------------------------------------------------------


def _object(body: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ContractError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return body


def _value(body: Mapping[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> Any:
    """body[name], which must be of `kind` (None only when `kind` includes type(None))."""
    if name not in body:
        raise ContractError(f"{what}: field {name!r} is missing")
    value = body[name]
    # JSON true/false must not pass as a number (bool is an int subclass in Python).
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        raise ContractError(f"{what}: field {name!r} is {value!r}, not {_names(kind)}")
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _names(kind: type | tuple[type, ...]) -> str:
    return " or ".join("null" if k is type(None) else k.__name__ for k in _kinds(kind))


_NUMBER = (int, float)
_OPTIONAL_NUMBER = (int, float, type(None))
_OPTIONAL_STR = (str, type(None))


def _number(body: Mapping[str, Any], name: str, what: str) -> float:
    return float(_value(body, name, _NUMBER, what))


def _optional_number(body: Mapping[str, Any], name: str, what: str) -> float | None:
    value = _value(body, name, _OPTIONAL_NUMBER, what)
    return None if value is None else float(value)


def _parsed(body: Mapping[str, Any], name: str, what: str, parse: Any) -> Any:
    text = _value(body, name, str, what)
    try:
        return parse(text)
    except (ValueError, InvalidOperation) as error:
        raise ContractError(f"{what}: field {name!r} is {text!r}: {error}") from error


def _datetime(text: str) -> datetime:
    # Pydantic writes UTC as "Z", which Python 3.10's fromisoformat does not read.
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---- POST /api/v1/service/conversations/{conversation_id}/handoff ------------------------------------------


@dataclass(frozen=True)
class HandoffRequest:
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HandoffResult:
    case_id: int
    message: str

    @classmethod
    def from_json(cls, body: Any) -> HandoffResult:
        what = "handoff"
        body = _object(body, what)
        return cls(case_id=_value(body, "case_id", int, what), message=_value(body, "message", str, what))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ---- POST /api/v1/service/conversations/{conversation_id}/person-offer ------------------------------------
# The bot is about to offer the customer a person. The backend's hand-off policy decides after every turn
# whether a person takes over; if it would take this turn over, the backend hands over now and the bot says
# so instead of asking a question whose answer no longer matters (issue 14).


@dataclass(frozen=True)
class PersonOfferRequest:
    reason: str  # the brief for the agent, as for a hand-off
    # This turn as the bot parsed it: the policy needs it, and the backend stores it only after the turn.
    intent: str
    text: str
    sentiment_label: str | None
    sentiment_score: float | None
    # The parse's sentence embedding (contract/embedding.py), for the policy's text models; None without.
    embedding: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PersonOfferResult:
    handed_over: bool  # True: the conversation is a person's now; the bot must not ask
    case_id: int | None
    message: str | None  # what to tell the customer when handed over

    @classmethod
    def from_json(cls, body: Any) -> PersonOfferResult:
        what = "person offer"
        body = _object(body, what)
        return cls(
            handed_over=_value(body, "handed_over", bool, what),
            case_id=_value(body, "case_id", (int, type(None)), what),
            message=_value(body, "message", _OPTIONAL_STR, what),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ---- GET /api/v1/service/orders/{order_id}?conversation_id=... (404: no such order, or another signed-in
# customer's when asked for a conversation; 422: not an order number) ----------------------------------------
# An anonymous visitor's conversation sees an order only with the e-mail address it was placed with, sent in
# the ORDER_EMAIL_HEADER header (never in the URL, which access logs keep). Without it: 403 ORDER_EMAIL_NEEDED
# for every well-formed number, whether or not the order exists; with a wrong one: the 404 of a missing
# order; after the backend's GUEST_ORDER_WRONG_EMAILS wrong ones: 429 ORDER_LOOKUPS_REFUSED for any number.

ORDER_EMAIL_HEADER = "X-Order-Email"
ORDER_EMAIL_NEEDED = "the e-mail address the order was placed with is needed: the visitor is not signed in"
ORDER_LOOKUPS_REFUSED = "too many e-mail addresses that matched no order: this conversation looks up no more"


class Withheld(str, Enum):
    """Why the backend tells an anonymous visitor's conversation nothing about the order it asked for."""

    EMAIL_NEEDED = "email_needed"  # 403 ORDER_EMAIL_NEEDED: ask the visitor for the e-mail on the order
    REFUSED = "refused"  # 429 ORDER_LOOKUPS_REFUSED: no more look-ups in this conversation


@dataclass(frozen=True)
class OrderItem:
    product: str
    quantity: int

    @classmethod
    def from_json(cls, body: Any) -> OrderItem:
        what = "order item"
        body = _object(body, what)
        return cls(product=_value(body, "product", str, what), quantity=_value(body, "quantity", int, what))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Order:
    order_id: str
    status: str
    carrier: str | None
    tracking_number: str | None
    estimated_delivery: date | None
    placed_at: datetime
    total: Decimal  # money: the backend sends it as a decimal string, never a float
    currency: str
    items: tuple[OrderItem, ...]

    @classmethod
    def from_json(cls, body: Any) -> Order:
        what = "order"
        body = _object(body, what)
        has_eta = _value(body, "estimated_delivery", _OPTIONAL_STR, what) is not None
        eta = _parsed(body, "estimated_delivery", what, date.fromisoformat) if has_eta else None
        return cls(
            order_id=_value(body, "order_id", str, what),
            status=_value(body, "status", str, what),
            carrier=_value(body, "carrier", _OPTIONAL_STR, what),
            tracking_number=_value(body, "tracking_number", _OPTIONAL_STR, what),
            estimated_delivery=eta,
            placed_at=_parsed(body, "placed_at", what, _datetime),
            total=_parsed(body, "total", what, Decimal),
            currency=_value(body, "currency", str, what),
            items=tuple(OrderItem.from_json(item) for item in _value(body, "items", list, what)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "status": self.status,
            "carrier": self.carrier,
            "tracking_number": self.tracking_number,
            "estimated_delivery": self.estimated_delivery and self.estimated_delivery.isoformat(),
            "placed_at": self.placed_at.isoformat(),
            "total": str(self.total),
            "currency": self.currency,
            "items": [item.to_json() for item in self.items],
        }


# ---- GET /api/v1/service/conversations/{conversation_id}/orders?limit=... (404: no such conversation) ---
# A signed-in shopper's latest orders, newest first, for the bot to offer when asked about "my order" without
# its number; an anonymous visitor has none.


@dataclass(frozen=True)
class RecentOrder:
    order_id: str
    status: str
    placed_at: datetime

    @classmethod
    def from_json(cls, body: Any) -> RecentOrder:
        what = "recent order"
        body = _object(body, what)
        return cls(
            order_id=_value(body, "order_id", str, what),
            status=_value(body, "status", str, what),
            placed_at=_parsed(body, "placed_at", what, _datetime),
        )

    def to_json(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "status": self.status, "placed_at": self.placed_at.isoformat()}


@dataclass(frozen=True)
class RecentOrders:
    orders: tuple[RecentOrder, ...]

    @classmethod
    def from_json(cls, body: Any) -> RecentOrders:
        what = "recent orders"
        body = _object(body, what)
        return cls(orders=tuple(RecentOrder.from_json(order) for order in _value(body, "orders", list, what)))

    def to_json(self) -> dict[str, Any]:
        return {"orders": [order.to_json() for order in self.orders]}


# ---- GET /api/v1/service/kb/search?q=...&k=...&conversation_id=... -----------------------------------------


@dataclass(frozen=True)
class KnowledgeQuery:
    q: str
    k: int = 3
    # The conversation the bot answers in (the Rasa sender id): the backend logs its answer-or-not decision
    # there. Optional: a search without one is still answered, its decision logged without a conversation.
    conversation_id: str | None = None

    def to_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"q": self.q, "k": self.k}
        if self.conversation_id:
            params["conversation_id"] = self.conversation_id
        return params


@dataclass(frozen=True)
class KnowledgeHit:
    slug: str
    title: str
    url: str  # site-relative: /kb/<slug>
    heading_path: tuple[str, ...]
    snippet: str  # the best passage: one line of plain text, a small table as Markdown rows on own lines
    score: float
    dense_score: float | None
    bm25_score: float | None
    confidence: float  # calibrated probability that the article answers the question
    answerable: bool  # confidence at or above the threshold

    @classmethod
    def from_json(cls, body: Any) -> KnowledgeHit:
        what = "knowledge hit"
        body = _object(body, what)
        headings = _value(body, "heading_path", list, what)
        if not all(isinstance(heading, str) for heading in headings):
            raise ContractError(f"{what}: heading_path is not a list of strings: {headings!r}")
        return cls(
            slug=_value(body, "slug", str, what),
            title=_value(body, "title", str, what),
            url=_value(body, "url", str, what),
            heading_path=tuple(headings),
            snippet=_value(body, "snippet", str, what),
            score=_number(body, "score", what),
            dense_score=_optional_number(body, "dense_score", what),
            bm25_score=_optional_number(body, "bm25_score", what),
            confidence=_number(body, "confidence", what),
            answerable=_value(body, "answerable", bool, what),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "url": self.url,
            "heading_path": list(self.heading_path),
            "snippet": self.snippet,
            "score": self.score,
            "dense_score": self.dense_score,
            "bm25_score": self.bm25_score,
            "confidence": self.confidence,
            "answerable": self.answerable,
        }


@dataclass(frozen=True)
class KnowledgeSearch:
    query: str
    threshold: float
    answerable: bool  # the top result is confident enough for the bot to answer with it
    results: tuple[KnowledgeHit, ...]

    @classmethod
    def from_json(cls, body: Any) -> KnowledgeSearch:
        what = "knowledge search"
        body = _object(body, what)
        return cls(
            query=_value(body, "query", str, what),
            threshold=_number(body, "threshold", what),
            answerable=_value(body, "answerable", bool, what),
            results=tuple(KnowledgeHit.from_json(hit) for hit in _value(body, "results", list, what)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "threshold": self.threshold,
            "answerable": self.answerable,
            "results": [hit.to_json() for hit in self.results],
        }


# ---- POST /api/v1/service/conversations/{conversation_id}/retention-offer ----------------------------------


@dataclass(frozen=True)
class RetentionOffer:
    offer: str | None  # None: churn risk below the threshold (or unknown), the cancellation goes ahead
    churn_risk: float | None
    threshold: float

    @classmethod
    def from_json(cls, body: Any) -> RetentionOffer:
        what = "retention offer"
        body = _object(body, what)
        return cls(
            offer=_value(body, "offer", _OPTIONAL_STR, what),
            churn_risk=_optional_number(body, "churn_risk", what),
            threshold=_number(body, "threshold", what),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ---- POST /api/v1/service/conversations/{conversation_id}/lead ---------------------------------------------

# What the customer reads when a lead scores high enough to go to the sales team now.
SALES_HANDOFF_MESSAGE = (
    "Thanks! I'm passing you to our sales team; someone will reply right here in this chat."
)


@dataclass(frozen=True)
class LeadRequest:
    intent: str  # the intent that showed the interest (sales_inquiry); the backend reads the message itself
    # change_plan only: the plan the bot heard asked for (its `product` entity), None when none was named.
    plan: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LeadResult:
    lead_id: int | None  # None: no lead (a plan change that is not an upgrade)
    created: bool  # False: the conversation already had its lead (capture is idempotent)
    score: float | None  # calibrated conversion probability, or the rules' score without a served model
    routed: bool  # handed to the sales team now
    message: str | None  # what to tell the customer when routed

    @classmethod
    def from_json(cls, body: Any) -> LeadResult:
        what = "lead"
        body = _object(body, what)
        return cls(
            lead_id=_value(body, "lead_id", (int, type(None)), what),
            created=_value(body, "created", bool, what),
            score=_optional_number(body, "score", what),
            routed=_value(body, "routed", bool, what),
            message=_value(body, "message", _OPTIONAL_STR, what),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
