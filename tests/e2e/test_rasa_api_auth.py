"""The real Rasa server serves its HTTP API only with the stack's token (`rasa run --auth-token`), while the
customer's path (backend -> the hub channel's webhook) keeps working without it, and the backend's client
reads trackers with the token it is given."""

import asyncio

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


def test_the_api_answers_with_the_token(stack: Stack):
    token = {"token": stack.config.rasa_token}
    status = httpx.get(rasa(stack) + "/status", params=token, timeout=30)
    assert status.status_code == 200 and status.json()["model_file"]
    parse = httpx.post(rasa(stack) + "/model/parse", params=token, json={"text": "hello"}, timeout=30)
    assert parse.status_code == 200 and parse.json()["intent"]["name"]


def test_the_customer_path_needs_no_token_and_the_client_reads_the_tracker_with_it(stack: Stack):
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
