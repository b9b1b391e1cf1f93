"""Client of the backend's service API: the only way the action server reads or changes customer data.

Every failure (backend down, timeout, error status, malformed body) becomes `BackendError`, so an action
has exactly one exception to turn into a polite message.
"""

import asyncio
import logging
import os
import weakref
from typing import Any
from urllib.parse import quote

import httpx

logger = logging.getLogger(__name__)

DEFAULT_BACKEND_URL = "http://127.0.0.1:8000"
DEFAULT_SERVICE_TOKEN = "dev-service-token"
TIMEOUT_S = 5.0  # a customer is waiting for the reply; better a polite error than a stalled chat


class BackendError(Exception):
    """The backend could not give a usable answer."""


# Below uvicorn's 5 s keep-alive timeout, so an idle connection is never reused just as the backend closes it.
KEEPALIVE_EXPIRY_S = 2.0
# One client per event loop and backend address: building an httpx client builds its TLS context, about 27 ms
# of CPU (measured in the bot venv), which per request was the largest cost of an order or knowledge turn.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)


def _client() -> httpx.AsyncClient:
    """This event loop's client of the backend, kept open so requests reuse their connection.

    The environment is read per call, not at import, so tests and restarts with new values are honoured;
    a client belongs to one event loop, so each loop gets its own.
    """
    url = os.environ.get("BACKEND_URL", DEFAULT_BACKEND_URL).rstrip("/")
    token = os.environ.get("SERVICE_TOKEN", DEFAULT_SERVICE_TOKEN)
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get((url, token))
    if client is None or client.is_closed:
        client = per_loop[(url, token)] = httpx.AsyncClient(
            base_url=url,
            headers={"X-Service-Token": token},
            timeout=TIMEOUT_S,
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_S),
        )
    return client


async def _request(
    method: str, path: str, json: dict[str, Any] | None = None, params: dict[str, Any] | None = None
) -> httpx.Response:
    try:
        return await _client().request(method, path, json=json, params=params)
    except httpx.HTTPError as error:
        raise BackendError(f"{method} {path} failed: {error!r}") from error


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.is_error:
        raise BackendError(f"{what}: HTTP {response.status_code} {response.text[:200]!r}")
    try:
        body = response.json()
    except ValueError as error:
        raise BackendError(f"{what}: response is not JSON") from error
    if not isinstance(body, dict):
        raise BackendError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return body


async def get_order(order_id: str) -> dict[str, Any] | None:
    """The order as the backend describes it, or None if there is no such order.

    Fields: order_id, status, carrier, tracking_number, estimated_delivery (ISO date or null), placed_at,
    total, currency, items [{product, quantity}].
    """
    path = f"/api/v1/service/orders/{quote(order_id, safe='')}"
    response = await _request("GET", path)
    # 404: no such order. 422: the backend cannot read it as an order number, so no order can match it.
    if response.status_code in (404, 422):
        return None
    return _json_object(response, f"GET {path}")


async def handoff(conversation_id: str, reason: str) -> dict[str, Any]:
    """Hands the conversation to the human team; returns {"case_id": ..., "message": ...}.

    The Rasa sender_id is the backend's conversation id, so it is passed through unchanged.
    """
    path = f"/api/v1/service/conversations/{quote(conversation_id, safe='')}/handoff"
    response = await _request("POST", path, json={"reason": reason})
    return _json_object(response, f"POST {path}")


async def search_knowledge(question: str, k: int = 3) -> dict[str, Any]:
    """The knowledge base's answer to `question`: {"answerable": bool, "threshold", "results": [hits]}.

    Each hit has slug, title, url (site-relative), snippet and a calibrated confidence; `answerable` says the
    top hit is confident enough to answer with.
    """
    path = "/api/v1/service/kb/search"
    response = await _request("GET", path, params={"q": question[:2000], "k": k})
    return _json_object(response, f"GET {path}")


async def retention_offer(conversation_id: str) -> dict[str, Any]:
    """For a customer who wants to cancel: {"offer": str | None, "churn_risk": float | None, "threshold"}."""
    path = f"/api/v1/service/conversations/{quote(conversation_id, safe='')}/retention-offer"
    response = await _request("POST", path)
    return _json_object(response, f"POST {path}")
