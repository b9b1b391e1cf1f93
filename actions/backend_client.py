"""Client of the backend's service API: the only way the action server reads or changes customer data.

Every failure (backend down, timeout, error status, malformed body) becomes `BackendError`, so an action
has exactly one exception to turn into a polite message. Responses come back as the types of
contract/service_api.py, which the backend's routes are checked against, so actions read attributes, not
dict keys that could silently be missing.

Every call carries the customer message's correlation id (X-Request-ID, from actions/observability.py), so
the backend logs its side of the call under the same id as the turn that caused it; every failure is
counted by call and kind (`supportdesk_action_backend_errors_total`).
"""

import asyncio
import logging
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from actions.observability import BACKEND_ERRORS, request_id_headers
from contract.imports import remember_missing_sniffio
from contract.service_api import (
    ORDER_EMAIL_HEADER,
    ORDER_EMAIL_NEEDED,
    ORDER_LOOKUPS_REFUSED,
    ContractError,
    HandoffRequest,
    HandoffResult,
    KnowledgeQuery,
    KnowledgeSearch,
    LeadRequest,
    LeadResult,
    Order,
    PersonOfferRequest,
    PersonOfferResult,
    RecentOrders,
    RetentionOffer,
    Withheld,
)
from nlu.settings import bot_settings

logger = logging.getLogger(__name__)

remember_missing_sniffio()  # every call to the backend goes through httpcore's locks (contract/imports.py)

T = TypeVar("T")


class BackendError(Exception):
    """The backend could not give a usable answer."""


# Below uvicorn's 5 s keep-alive timeout, so an idle connection is never reused just as the backend closes it.
KEEPALIVE_EXPIRY_S = 2.0
# One client per event loop and backend address: building an httpx client builds its TLS context, which per
# request was the largest cost of an order or knowledge turn (docs/benchmarks.md).
ClientKey = tuple[str, str, float]  # backend URL, service token, timeout in seconds
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[ClientKey, httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)


def _client() -> httpx.AsyncClient:
    """This event loop's client of the backend, kept open so requests reuse their connection.

    The settings are read per call, not at import, so tests and restarts with new values are honoured;
    a client belongs to one event loop, so each loop gets its own.
    """
    settings = bot_settings()
    url, token, timeout = settings.backend_url, settings.service_token, settings.backend_timeout_s
    key: ClientKey = (url, token, timeout)
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get(key)
    if client is None or client.is_closed:
        client = per_loop[key] = httpx.AsyncClient(
            base_url=url,
            headers={"X-Service-Token": token},
            timeout=timeout,
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_S),
        )
    return client


async def _request(
    call: str,
    method: str,
    path: str,
    json: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    headers = {**request_id_headers(), **(headers or {})}
    try:
        return await _client().request(method, path, json=json, params=params, headers=headers)
    except httpx.HTTPError as error:
        BACKEND_ERRORS.labels(call, "unreachable").inc()
        raise BackendError(f"{method} {path} failed: {error!r}") from error


def _json_object(response: httpx.Response, call: str, what: str) -> dict[str, Any]:
    if response.is_error:
        BACKEND_ERRORS.labels(call, "http_error").inc()
        raise BackendError(f"{what}: HTTP {response.status_code} {response.text[:200]!r}")
    try:
        body = response.json()
    except ValueError as error:
        BACKEND_ERRORS.labels(call, "bad_response").inc()
        raise BackendError(f"{what}: response is not JSON") from error
    if not isinstance(body, dict):
        BACKEND_ERRORS.labels(call, "bad_response").inc()
        raise BackendError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return body


def _read(response: httpx.Response, call: str, what: str, contract_type: Callable[[Any], T]) -> T:
    """The response as its contract type; a body that does not match is a backend failure like any other."""
    body = _json_object(response, call, what)
    try:
        return contract_type(body)
    except ContractError as error:
        BACKEND_ERRORS.labels(call, "bad_response").inc()
        raise BackendError(f"{what}: {error}") from error


async def get_order(order_id: str, conversation_id: str, email: str | None = None) -> Order | Withheld | None:
    """The order as the backend describes it to this conversation, or None if there is no such order (or it
    is another signed-in customer's, or an anonymous visitor's `email` is not the one on it). Withheld: an
    anonymous visitor's conversation must give the email address on the order first (EMAIL_NEEDED), or may
    look no order up any more (REFUSED). The address goes in a header, never in the URL that access logs
    keep: trimmed, and printable ASCII (the order form takes no other; anything else is a ValueError)."""
    path = f"/api/v1/service/orders/{quote(order_id, safe='')}"
    params = {"conversation_id": conversation_id}
    email = email.strip() if email else None
    if email and not _HEADER_SAFE.fullmatch(email):
        # h11 would refuse it and quote it in its error, which the action logs.
        raise ValueError("the email address holds characters a header cannot carry")
    headers = {ORDER_EMAIL_HEADER: email} if email else None
    response = await _request("orders", "GET", path, params=params, headers=headers)
    # 404: no such order. 422: the backend cannot read it as an order number, so no order can match it.
    if response.status_code in (404, 422):
        return None
    withheld = _withheld(response)
    return withheld if withheld is not None else _read(response, "orders", f"GET {path}", Order.from_json)


# Printable ASCII without spaces: what the order form takes as an address, and a header carries as it is.
_HEADER_SAFE = re.compile(r"[!-~]+")
# Each answer that withholds the order, by status and the exact detail the backend gives with it; any other
# 403 or 429 is a failure like a 500.
_WITHHELD = {403: (ORDER_EMAIL_NEEDED, Withheld.EMAIL_NEEDED), 429: (ORDER_LOOKUPS_REFUSED, Withheld.REFUSED)}


def _withheld(response: httpx.Response) -> Withheld | None:
    detail, withheld = _WITHHELD.get(response.status_code, (None, None))
    if withheld is None:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return withheld if isinstance(body, dict) and body.get("detail") == detail else None


async def recent_orders(conversation_id: str, limit: int) -> RecentOrders:
    """The latest orders of the conversation's customer, newest first (none for an anonymous visitor)."""
    path = f"/api/v1/service/conversations/{quote(conversation_id, safe='')}/orders"
    response = await _request("recent_orders", "GET", path, params={"limit": limit})
    return _read(response, "recent_orders", f"GET {path}", RecentOrders.from_json)


async def handoff(conversation_id: str, reason: str) -> HandoffResult:
    """Hands the conversation to the human team: the case opened (or already open) and what to tell the
    customer.

    The Rasa sender_id is the backend's conversation id, so it is passed through unchanged.
    """
    path = f"/api/v1/service/conversations/{quote(conversation_id, safe='')}/handoff"
    response = await _request("handoff", "POST", path, json=HandoffRequest(reason).to_json())
    return _read(response, "handoff", f"POST {path}", HandoffResult.from_json)


async def person_offer(conversation_id: str, request: PersonOfferRequest) -> PersonOfferResult:
    """The bot is about to offer a person: the backend hands the conversation over now if its hand-off
    policy takes this turn over anyway (`handed_over`), and otherwise leaves the question to the bot."""
    path = f"/api/v1/service/conversations/{quote(conversation_id, safe='')}/person-offer"
    response = await _request("person_offer", "POST", path, json=request.to_json())
    return _read(response, "person_offer", f"POST {path}", PersonOfferResult.from_json)


async def search_knowledge(question: str, k: int = 3, conversation_id: str | None = None) -> KnowledgeSearch:
    """The knowledge base's answer to `question`: the hits (best first, each with a calibrated confidence)
    and whether the top one is confident enough to answer with. With `conversation_id` (the Rasa sender id)
    the backend logs the answer-or-not decision in that conversation."""
    path = "/api/v1/service/kb/search"
    query = KnowledgeQuery(question[:2000], k, conversation_id)
    response = await _request("kb_search", "GET", path, params=query.to_params())
    return _read(response, "kb_search", f"GET {path}", KnowledgeSearch.from_json)


async def retention_offer(conversation_id: str) -> RetentionOffer:
    """For a customer who wants to cancel: the offer to make (None: no offer) and the churn risk behind it."""
    path = f"/api/v1/service/conversations/{quote(conversation_id, safe='')}/retention-offer"
    response = await _request("retention_offer", "POST", path)
    return _read(response, "retention_offer", f"POST {path}", RetentionOffer.from_json)


@dataclass(frozen=True)
class FlowVariant:
    """The answer of POST /api/experiments/flows/{flow}/conversations/{id} (FlowVariantOut in
    backend/experiments/schemas.py)."""

    flow: str
    conversation_id: str
    variant: str  # the way to handle the flow in this conversation
    experiment: str | None  # None: the flow's default, no experiment runs it

    @classmethod
    def from_json(cls, body: Any) -> "FlowVariant":
        fields = {"flow": str, "conversation_id": str, "variant": str, "experiment": (str, type(None))}
        for name, kind in fields.items():
            if not isinstance(body.get(name), kind):
                raise ContractError(f"flow variant: {name} is missing or not {kind}: {body.get(name)!r}")
        return cls(body["flow"], body["conversation_id"], body["variant"], body["experiment"])


async def flow_variant(flow: str, conversation_id: str) -> FlowVariant:
    """How to handle `flow` in this conversation (a bot-flow experiment's sticky variant, or the flow's
    default); the backend logs a first exposure as a decision."""
    path = f"/api/experiments/flows/{quote(flow, safe='')}/conversations/{quote(conversation_id, safe='')}"
    response = await _request("flow_variant", "POST", path)
    return _read(response, "flow_variant", f"POST {path}", FlowVariant.from_json)


async def capture_lead(conversation_id: str, intent: str, plan: str | None = None) -> LeadResult:
    """The customer showed sales interest: the backend makes the conversation's lead (once), scores it, and
    hands the conversation to the sales team when the score is high enough (`routed`). For a plan change
    (`plan`: the plan asked for, if named) only an upgrade is a lead (else `lead_id` None), never routed."""
    path = f"/api/v1/service/conversations/{quote(conversation_id, safe='')}/lead"
    response = await _request("lead", "POST", path, json=LeadRequest(intent, plan).to_json())
    return _read(response, "lead", f"POST {path}", LeadResult.from_json)
