"""HTTP client for the Rasa server's `hub` input channel (bot/channels/hub.py), over one or more replicas.

One request per customer turn returns both the bot's replies and the parse of the customer's message
(intent, confidence, entities, sentiment), so the backend needs no second call to /model/parse.

Several replicas (the scaled setup) share one tracker store, and Rasa's Redis lock store runs one
conversation's turns in order whichever replica gets them, so turns are spread round-robin. A replica that
refuses the connection never saw the turn: the next replica gets it. A connection that breaks after the
request was sent is the hard case, because Rasa may have processed the turn; it is never re-sent blindly:

* the tracker (shared by every replica) already holds the user event with this message id -> the turn was
  processed: its replies are read back from the tracker instead of asking again;
* it does not, and the replica that broke the connection now refuses connections (it died, and Rasa saves a
  tracker only at the end of a turn) -> the turn can never be saved by it: the next replica gets it;
* otherwise (the replica is alive, or a timeout) the turn may still be running: BotUnavailable, the customer
  gets the holding reply, and the message is not processed twice.
"""

import asyncio
import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from backend.core import correlation, metrics
from contract.imports import remember_missing_sniffio

log = logging.getLogger(__name__)

remember_missing_sniffio()  # every call to Rasa goes through httpcore's locks (contract/imports.py)

WEBHOOK = "/webhooks/hub/webhook"
# The request certainly never reached Rasa: safe to give it to another replica.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The connection broke after the request went out: Rasa may have processed it.
BROKEN_AFTER_SEND = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
# Below Sanic's 5 s keep-alive timeout, so an idle connection is never reused just as Rasa closes it (that
# race would look like a broken turn).
KEEPALIVE_EXPIRY_S = 2.0


class BotUnavailable(Exception):
    """The Rasa server could not be reached or answered with an error."""


@dataclass(frozen=True)
class BotReply:
    text: str
    buttons: list[dict[str, str]] | None = None
    citations: list[dict[str, str]] | None = None


@dataclass(frozen=True)
class BotTurn:
    replies: list[BotReply]
    parse: dict[str, Any] = field(default_factory=dict)


class RasaClient:
    def __init__(
        self,
        base_urls: str | Sequence[str],
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
        max_in_flight: int = 100,
        token: str = "",
    ) -> None:
        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        if not urls:
            raise ValueError("at least one Rasa URL is needed")
        # At most max_in_flight turns per replica from this worker; the others wait here, not in Rasa's
        # accept queue: a turn whose wait times out was never sent (PoolTimeout), so the next replica may
        # take it, and an overloaded Rasa does not keep working on turns whose customer got the holding reply.
        limits = httpx.Limits(
            max_connections=max_in_flight,
            max_keepalive_connections=max_in_flight,
            keepalive_expiry=KEEPALIVE_EXPIRY_S,
        )
        timeout = httpx.Timeout(timeout_s, pool=timeout_s / len(urls))
        # Every call carries the turn's correlation id, so Rasa's and the actions' logs can be joined to ours.
        hooks = {"request": [_add_request_id]}
        self._replicas = [
            httpx.AsyncClient(
                base_url=url, timeout=timeout, transport=transport, limits=limits, event_hooks=hooks
            )
            for url in urls
        ]
        self._turns = itertools.count()
        # Rasa's HTTP API (`rasa run --auth-token`) reads its token from the query string alone; the hub
        # channel's webhook wants the same secret as a bearer header (bot/channels/hub.py), which no access
        # log writes down.
        self._api_params = {"token": token} if token else {}
        self._webhook_headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def close(self) -> None:
        for replica in self._replicas:
            await replica.aclose()

    async def send(
        self, conversation_id: str, text: str, message_id: int, metadata: dict[str, Any]
    ) -> BotTurn:
        payload = {
            "sender": conversation_id,
            "message": text,
            "message_id": str(message_id),
            "metadata": metadata,
        }
        problems: list[str] = []
        for replica in self._rotation():
            try:
                response = await _post(replica, payload, self._webhook_headers)
            except NOT_SENT as exc:
                problems.append(f"{replica.base_url}: {exc!r}")
                continue
            except BROKEN_AFTER_SEND as exc:
                problems.append(f"{replica.base_url}: {exc!r}")
                recovered = await self._after_broken_turn(replica, conversation_id, str(message_id))
                if recovered is None:
                    log.warning(
                        "turn %s: %s died before saving it; next replica", message_id, replica.base_url
                    )
                    continue
                return recovered
            except httpx.HTTPError as exc:  # a timeout: the turn may still be running
                raise BotUnavailable(f"Rasa did not answer: {exc!r}") from exc
            return _turn_of(response)
        raise BotUnavailable(f"no Rasa replica reachable: {'; '.join(problems)}")

    async def recover_or_send(
        self, conversation_id: str, text: str, message_id: int, metadata: dict[str, Any]
    ) -> BotTurn:
        """A turn a dead backend worker may have sent already: its replies if Rasa processed it, else sent."""
        events = await self._tracker_events(conversation_id)
        if events is None:
            raise BotUnavailable("no Rasa replica can show the tracker, so the turn cannot be checked")
        turn = _turn_in_tracker(events, str(message_id))
        if turn is not None:
            return turn
        if _has_user_event(events, str(message_id)):
            raise BotUnavailable(f"turn {message_id} was started by Rasa but not finished")
        return await self.send(conversation_id, text, message_id, metadata)

    async def is_healthy(self) -> bool:
        """True when at least one replica answers."""
        for replica in self._replicas:
            if await _answers(replica):
                return True
        return False

    async def replica_health(self) -> dict[str, bool]:
        """Whether each replica answers, all probed at once (for the metrics scrape)."""
        answers = await asyncio.gather(*(_answers(replica) for replica in self._replicas))
        return {str(replica.base_url): up for replica, up in zip(self._replicas, answers, strict=True)}

    # ---- failover ------------------------------------------------------------------------------------------
    def _rotation(self) -> list[httpx.AsyncClient]:
        start = next(self._turns) % len(self._replicas)
        return self._replicas[start:] + self._replicas[:start]

    async def _after_broken_turn(
        self, broken: httpx.AsyncClient, conversation_id: str, message_id: str
    ) -> BotTurn | None:
        """The turn's result read from the tracker, or None when it is certain no replica processed it."""
        events = await self._tracker_events(conversation_id)
        if events is None:
            raise BotUnavailable("the connection to Rasa broke and no replica can show the tracker")
        turn = _turn_in_tracker(events, message_id)
        if turn is not None:
            return turn
        if _has_user_event(events, message_id):
            raise BotUnavailable(f"turn {message_id} was started by Rasa but not finished")
        if await _answers(broken):
            raise BotUnavailable(
                f"{broken.base_url} broke the connection but is alive: the turn may still run"
            )
        return None

    async def _tracker_events(self, conversation_id: str) -> list[dict[str, Any]] | None:
        for replica in self._replicas:
            try:
                response = await replica.get(
                    f"/conversations/{conversation_id}/tracker", params=self._api_params
                )
                response.raise_for_status()
                events = response.json().get("events")
            except (httpx.HTTPError, ValueError, AttributeError):
                continue
            return events if isinstance(events, list) else []
        return None


async def _add_request_id(request: httpx.Request) -> None:
    request.headers.update(correlation.request_id_headers())


async def _post(
    replica: httpx.AsyncClient, payload: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    """One turn's call to one replica, counted by outcome and timed (the metrics operators alert on)."""
    started, outcome = time.perf_counter(), "error"
    try:
        response = await replica.post(WEBHOOK, json=payload, headers=headers)
        outcome = "ok" if response.is_success else "http_error"
        return response
    except httpx.PoolTimeout:
        outcome = "busy"
        raise
    except NOT_SENT:
        outcome = "unreachable"
        raise
    except BROKEN_AFTER_SEND:
        outcome = "broken"
        raise
    except httpx.TimeoutException:
        outcome = "timeout"
        raise
    except asyncio.CancelledError:  # the hub's turn deadline ran out first
        outcome = "cancelled"
        raise
    finally:
        name = str(replica.base_url)
        metrics.RASA_REQUESTS.labels(name, outcome).inc()
        metrics.RASA_REQUEST_SECONDS.labels(name).observe(time.perf_counter() - started)


async def _answers(replica: httpx.AsyncClient) -> bool:
    try:
        response = await replica.get("/", timeout=2.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _turn_of(response: httpx.Response) -> BotTurn:
    try:
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise BotUnavailable(f"Rasa did not answer: {exc!r}") from exc
    return BotTurn(replies=_replies(body.get("messages", [])), parse=body.get("parse") or {})


def _has_user_event(events: list[dict[str, Any]], message_id: str) -> bool:
    return any(e.get("event") == "user" and e.get("message_id") == message_id for e in events)


def _turn_in_tracker(events: list[dict[str, Any]], message_id: str) -> BotTurn | None:
    """The replies and parse of a finished turn (its user event up to the next action_listen), if any."""
    start = next(
        (i for i, e in enumerate(events) if e.get("event") == "user" and e.get("message_id") == message_id),
        None,
    )
    if start is None:
        return None
    messages: list[dict[str, Any]] = []
    for event in events[start + 1 :]:
        if event.get("event") == "action" and event.get("name") == "action_listen":
            parse = events[start].get("parse_data") or {}
            return BotTurn(replies=_replies(messages), parse=parse)
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            data = event.get("data") or {}
            messages.append(
                {"text": event.get("text"), "buttons": data.get("buttons"), "custom": data.get("custom")}
            )
    return None


def _replies(messages: list[dict[str, Any]]) -> list[BotReply]:
    replies: list[BotReply] = []
    for message in messages:
        text = message.get("text") or ""
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in message.get("buttons") or []
        ]
        citations = _citations(message.get("custom"))
        if text or buttons:
            replies.append(BotReply(text=text, buttons=buttons or None, citations=citations or None))
        elif citations and replies:
            # Rasa's output channel sends an utterance's text and its custom JSON as two messages: the
            # citations belong to the text just before them.
            previous = replies[-1]
            merged = (previous.citations or []) + citations
            replies[-1] = BotReply(text=previous.text, buttons=previous.buttons, citations=merged)
    return replies


def _citations(custom: object) -> list[dict[str, str]]:
    """Source links an action attached (`json_message={"citations": [...]}`); only site-relative or http(s)
    URLs are kept, so a bad article link can never become a `javascript:` link in the widget."""
    if not isinstance(custom, dict) or not isinstance(custom.get("citations"), list):
        return []
    kept = []
    for item in custom["citations"]:
        if not isinstance(item, dict):
            continue
        title, url = str(item.get("title", "")).strip(), str(item.get("url", "")).strip()
        safe = url.startswith(("http://", "https://")) or (url.startswith("/") and not url.startswith("//"))
        if title and safe:
            kept.append({"title": title[:200], "url": url[:500]})
    return kept
