"""A turn's POST to Rasa goes straight to the client's transport (backend/conversations/rasa_client.py
`_Webhook`), so it must be the very request `client.post(WEBHOOK, json=..., headers=...)` would send: same
URL, header names, order and values (the correlation id last, as the client's request hook adds it), body
and timeouts; and a transport error still surfaces as the httpx exception the failover logic sorts on."""

import httpx
import pytest

from backend.conversations.rasa_client import WEBHOOK, BotUnavailable, RasaClient
from backend.core import correlation

Seen = tuple[str, str, list[tuple[bytes, bytes]], bytes, object]


def _recorder(seen: list[Seen]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(
            (
                request.method,
                str(request.url),
                list(request.headers.raw),
                request.content,
                request.extensions.get("timeout"),
            )
        )
        body = {"messages": [{"text": "hi"}], "parse": {"intent": {"name": "greet"}}}
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handle)


@pytest.mark.parametrize("token", ["", "a-token"])
@pytest.mark.parametrize("in_request", [True, False])
async def test_a_turn_sends_what_client_post_would(token: str, in_request: bool) -> None:
    seen: list[Seen] = []
    urls = ["http://rasa-a:5005", "http://rasa-b:5005"]
    client = RasaClient(urls, timeout_s=7.0, transport=_recorder(seen), token=token)
    metadata = {"customer": {"id": 3}, "text": "ünïcode"}
    payload = {"sender": "conv-1", "message": "héllo", "message_id": "42", "metadata": metadata}
    try:
        with correlation.new_request_id() if in_request else _nothing():
            turn = await client.send("conv-1", "héllo", 42, metadata)
            replica = client._replicas[0]  # the rotation's first replica for the first turn
            await replica.post(WEBHOOK, json=payload, headers=client._webhook_headers)
    finally:
        await client.close()
    assert turn.replies[0].text == "hi" and turn.parse == {"intent": {"name": "greet"}}
    assert seen[0] == seen[1]
    names = [name.lower() for name, _ in seen[0][2]]
    assert (b"x-request-id" in names) is in_request


async def test_a_transport_error_is_still_sorted_as_before() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = RasaClient(["http://rasa-a:5005", "http://rasa-b:5005"], timeout_s=2.0,
                        transport=httpx.MockTransport(refuse))  # fmt: skip
    try:
        with pytest.raises(BotUnavailable, match="no Rasa replica reachable"):
            await client.send("conv-1", "hi", 1, {})
    finally:
        await client.close()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
