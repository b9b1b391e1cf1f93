"""The backend's channel into Rasa: one request per customer turn returns the bot's replies AND the parse.

POST /webhooks/hub/webhook  {"sender": str, "message": str, "message_id": str, "metadata": {...}}
  -> {"messages": [{"recipient_id", "text", "buttons", ...}], "parse": {intent, entities, sentiment, ...}}

Rasa's REST channel returns only the replies, so the backend would need a second call to /model/parse, run the
NLU pipeline twice and could see a parse that differs from the one the dialogue acted on. Here the parse is
read from the tracker the turn saved (channels/turn_capture.py): it is exactly what the policies saw. The
backend's message id is passed as Rasa's message_id, so the right user event is found even if the
conversation had other turns meanwhile.

Each turn runs under the backend's correlation id (its `X-Request-ID`, or a new one for a caller without
one): every log line of the turn in this process carries it (LOG_FORMAT text or json, as the backend), and
it goes into the message's metadata (`request_id`), which Rasa keeps on the tracker's latest message and so
hands to the action server with every action call of the turn (contract/observability.py).

Only the backend may post turns: the webhook wants `Authorization: Bearer <RASA_TOKEN>`, the secret Rasa's
HTTP API is served with (`rasa run --auth-token`), which every stack already gives Rasa and the backend as
RASA_TOKEN. Without it a caller that can reach Rasa's port could speak as any customer, in any conversation.
With RASA_TOKEN unset or empty (a developer's `rasa run` by hand) the webhook stays open, with a warning.
"""

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.events import UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import action_validation, turn_capture
from contract.observability import (
    HEADER,
    METADATA_KEY,
    REQUEST_ID,
    accepted_or_new,
    format_existing_handlers,
    install_record_factory,
)
from nlu.settings import RASA_TOKEN, bot_settings

logger = logging.getLogger(__name__)
# Start-up and refusal lines of the token check on a logger of their own: they belong to no turn, and an
# operator can route or alert on them apart from the turns' lines.
auth_logger = logging.getLogger(f"{__name__}.auth")

action_validation.install()
turn_capture.install()

# The turn's id: every record Rasa or we log while handling the turn carries it.
_request_id = REQUEST_ID
install_record_factory()
format_existing_handlers(bot_settings().log_format)  # Rasa set up its handlers before importing us

TOKEN_VARIABLE = RASA_TOKEN


def expected_token() -> str:
    """The secret callers must present; empty: none is asked for."""
    return bot_settings().rasa_token


def is_authorized(authorization: str | None, token: str) -> bool:
    """Whether an Authorization header carries `Bearer <token>`; anything goes when no token is set."""
    if not token:
        return True
    scheme, _, presented = (authorization or "").partition(" ")
    # Bytes, so a non-ASCII header is compared (and refused) rather than raising; constant time, so the
    # answer's timing does not tell how much of a guess was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


class HubInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "hub"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hub_webhook = Blueprint("hub_webhook", __name__)
        # Read once: Rasa builds the blueprint once, when the server starts, so this warns once.
        secret = expected_token()
        if not secret:
            auth_logger.warning(
                "%s is not set: the hub webhook takes turns from anyone who can reach this port; "
                "fine for a developer's `rasa run`, never for a server others can reach",
                TOKEN_VARIABLE,
            )

        @hub_webhook.listener("before_server_start")
        async def format_sanic_logs(*_: Any) -> None:
            # The Sanic app, and its loggers' handlers, are made after this channel was imported.
            format_existing_handlers(bot_settings().log_format)

        @hub_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hub_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not is_authorized(request.headers.get("Authorization"), secret):
                auth_logger.warning("hub webhook: refused a call without the right token")
                return response.json(
                    {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"}
                )
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not isinstance(text, str) or not sender or not text:
                return response.json(
                    {"error": "'sender' and 'message' must be non-empty strings"}, status=400
                )
            message_id = str(body.get("message_id") or "") or None
            metadata = body.get("metadata")
            request_id = accepted_or_new(request.headers.get(HEADER))
            token = _request_id.set(request_id)
            try:
                started = time.perf_counter()
                collector = CollectingOutputChannel()
                turn_capture.forget()
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender,
                        input_channel=self.name(),
                        message_id=message_id,
                        metadata=with_request_id(metadata, request_id),
                    )
                )
                parse = await _parse_of(request, sender, message_id)
                logger.info(
                    "turn of conversation %s: %d replies in %.1f ms",
                    sender,
                    len(collector.messages),
                    (time.perf_counter() - started) * 1000,
                )
                return response.json(_jsonable({"messages": collector.messages, "parse": parse}))
            finally:
                _request_id.reset(token)

        return hub_webhook


def with_request_id(metadata: object, request_id: str) -> dict[str, Any]:
    """The backend's metadata with the turn's id: Rasa keeps it on the user event, whose metadata the
    action server reads from `tracker.latest_message` for every action of the turn."""
    return {**(metadata if isinstance(metadata, dict) else {}), METADATA_KEY: request_id}


def current_request_id() -> str | None:
    return _request_id.get()


async def _parse_of(request: Request, sender: str, message_id: str | None) -> dict[str, Any]:
    """The parse data of this turn's user message, as saved on the tracker."""
    tracker = turn_capture.saved_tracker(sender)
    if tracker is None:
        tracker = await request.app.ctx.agent.tracker_store.retrieve(sender)
    if tracker is None:
        return {}
    user_events: list[UserUttered] = [e for e in tracker.events if isinstance(e, UserUttered)]
    for event in reversed(user_events):
        if message_id is None or event.message_id == message_id:
            return dict(event.parse_data)
    logger.warning("no user event with message_id %s in conversation %s", message_id, sender)
    return {}


def _jsonable(value: Any) -> Any:
    # NLU components may leave numpy scalars in the parse; the backend needs plain JSON.
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
