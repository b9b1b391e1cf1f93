"""The real Rasa server serves its HTTP API only with the stack's token, and the hub channel's webhook takes
turns only with the same token as a bearer header (bot/channels/hub.py): a turn without it is refused and
never reaches the tracker. The customer's path (widget -> backend -> webhook) works, because the backend sends
the token, and the backend's client reads trackers with it. The token reaches Rasa through its environment
(bot/rasa_run.py), so no process's command line, which `ps` shows every local user, carries it."""

import asyncio
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from backend.conversations.rasa_client import BotUnavailable, RasaClient
from scripts.stack import Stack
from tests.dbcheck import rows
from tests.e2e.test_message_path import bot_texts, open_session, say

pytestmark = pytest.mark.e2e

# Reads, and the routes that would change the bot: replacing or unloading its model, rewriting a tracker.
API_CALLS = [
    ("GET", "/status"),
    ("GET", "/conversations/someone/tracker"),
    ("PUT", "/conversations/someone/tracker/events"),
    ("POST", "/model/parse"),
    ("PUT", "/model"),
    ("DELETE", "/model"),
]


def rasa(stack: Stack) -> str:
    return stack.config.url(stack.config.rasa_port)


@pytest.mark.parametrize(("method", "path"), API_CALLS)
@pytest.mark.parametrize("token", [None, "", "not-the-token"], ids=["no-token", "empty", "wrong"])
def test_the_api_refuses_a_call_without_the_token(stack: Stack, method: str, path: str, token: str | None):
    params = {} if token is None else {"token": token}
    response = httpx.request(method, rasa(stack) + path, params=params, json={}, timeout=30)
    assert response.status_code == 401, response.text


def test_the_token_is_on_no_command_line_on_this_machine(stack: Stack):
    """What `ps` shows any local user: every process's full command line, the stack's Rasa among them."""
    rasa_pid = stack.processes["rasa"].pid
    launched = Path(f"/proc/{rasa_pid}/cmdline").read_bytes().split(b"\0")
    assert launched[1:3] == [b"-m", b"rasa_run"] and b"--enable-api" in launched
    ps = ["ps", "-e", "-ww", "-o", "pid=,args="]
    listing = subprocess.run(ps, capture_output=True, text=True, check=True)
    assert str(rasa_pid) in listing.stdout.split()  # ps did list the Rasa server
    leaks = [line for line in listing.stdout.splitlines() if stack.config.rasa_token in line]
    assert leaks == [], leaks
    assert "--auth-token" not in Path(f"/proc/{rasa_pid}/cmdline").read_text()
    # ... while the server does serve its API with that token (the tests below: with it 200, without 401).
    status = httpx.get(rasa(stack) + "/status", params={"token": stack.config.rasa_token}, timeout=30)
    assert status.status_code == 200
    assert httpx.get(rasa(stack) + "/status", timeout=30).status_code == 401


def test_the_api_answers_with_the_token(stack: Stack):
    token = {"token": stack.config.rasa_token}
    status = httpx.get(rasa(stack) + "/status", params=token, timeout=30)
    assert status.status_code == 200 and status.json()["model_file"]
    parse = httpx.post(rasa(stack) + "/model/parse", params=token, json={"text": "hello"}, timeout=30)
    assert parse.status_code == 200 and parse.json()["intent"]["name"]


def test_the_customer_path_works_and_the_client_reads_the_tracker_with_the_token(stack: Stack):
    session = open_session(stack, email=None)
    replies = bot_texts(asyncio.run(say(stack, session, ["hi"])))
    assert replies, "the bot did not answer through the channel webhook"
    [message] = rows(
        stack.config.database_url,
        "SELECT id, text FROM messages WHERE conversation_id = :c AND sender = 'customer'",
        c=session["conversation_id"],
    )
    args = (session["conversation_id"], message["text"], message["id"], {})

    async def recover(token: str) -> list[str]:
        client = RasaClient([rasa(stack)], timeout_s=30, token=token)
        try:
            # The turn is in the tracker, so its replies are read back from GET .../tracker, not asked again.
            turn = await client.recover_or_send(*args)
        finally:
            await client.close()
        return [reply.text for reply in turn.replies]

    assert asyncio.run(recover(stack.config.rasa_token)) == replies
    with pytest.raises(BotUnavailable, match="tracker"):
        asyncio.run(recover(""))


HUB_WEBHOOK = "/webhooks/hub/webhook"


def hub_turn(stack: Stack, sender: str, **request: object) -> httpx.Response:
    body = {"sender": sender, "message": "hi", "message_id": "m-1", "metadata": {}}
    return httpx.post(rasa(stack) + HUB_WEBHOOK, json=body, timeout=60, **request)  # type: ignore[arg-type]


def user_events(stack: Stack, sender: str) -> list[dict[str, object]]:
    tracker = httpx.get(
        f"{rasa(stack)}/conversations/{sender}/tracker", params={"token": stack.config.rasa_token}, timeout=30
    )
    tracker.raise_for_status()
    return [e for e in tracker.json()["events"] if e.get("event") == "user"]


def with_token(value: str | bytes, token: str) -> str | bytes:
    if isinstance(value, bytes):
        return value.replace(b"{token}", token.encode())
    return value.format(token=token)


@pytest.mark.parametrize(
    "auth",
    [
        {},
        {"headers": {"Authorization": "Bearer not-the-token"}},
        {"headers": {"Authorization": "Bearer"}},
        {"headers": {"Authorization": "Bearer {token}é".encode()}},  # must be a 401, not a 500
        {"headers": {"Authorization": "Basic {token}"}},
        {"headers": {"Authorization": "{token}"}},
        {"params": {"token": "{token}"}},  # the API's way: the webhook wants the header, not a URL to log
    ],
    ids=["none", "wrong", "empty", "non-ascii", "other-scheme", "no-scheme", "query-string"],
)
def test_the_hub_webhook_refuses_a_turn_without_the_token(
    stack: Stack, auth: dict[str, dict[str, str | bytes]]
):
    token = stack.config.rasa_token
    request = {part: {k: with_token(v, token) for k, v in values.items()} for part, values in auth.items()}
    sender = f"intruder-{uuid.uuid4().hex}"
    response = hub_turn(stack, sender, **request)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert user_events(stack, sender) == []  # the turn never reached the dialogue


def test_the_hub_webhook_takes_a_turn_with_the_token(stack: Stack):
    sender = f"backend-{uuid.uuid4().hex}"
    response = hub_turn(stack, sender, headers={"Authorization": f"Bearer {stack.config.rasa_token}"})
    assert response.status_code == 200, response.text
    assert [m["text"] for m in response.json()["messages"] if m.get("text")], response.json()
    [event] = user_events(stack, sender)
    assert event["message_id"] == "m-1" and response.json()["parse"]["message_id"] == "m-1"


def test_the_product_serves_no_unauthenticated_rest_channel(stack: Stack):
    """Rasa's `rest` channel takes turns for any sender without a token: only the benchmarks' credentials
    have it (bot/credentials.bench.yml), not the product's the stack runs with."""
    sender = f"intruder-{uuid.uuid4().hex}"
    body = {"sender": sender, "message": "hi"}
    response = httpx.post(rasa(stack) + "/webhooks/rest/webhook", json=body, timeout=60)
    assert response.status_code == 404, response.text
    assert user_events(stack, sender) == []
