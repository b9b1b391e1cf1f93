"""The action server's backend calls wait as long as ACTIONS_BACKEND_TIMEOUT_S says, per call."""

import asyncio

import pytest

from actions import backend_client


def test_the_client_uses_the_configured_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    async def timeouts() -> list[float | None]:
        seen = []
        for value in ("12.5", "3"):
            monkeypatch.setenv("ACTIONS_BACKEND_TIMEOUT_S", value)
            seen.append(backend_client._client().timeout.read)
        return seen

    assert asyncio.run(timeouts()) == [12.5, 3.0]


def test_a_backend_slower_than_the_timeout_is_a_backend_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async def call_a_silent_backend() -> None:
        async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1)  # the request arrives; no response is ever written
            await asyncio.sleep(3600)

        server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        monkeypatch.setenv("BACKEND_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("ACTIONS_BACKEND_TIMEOUT_S", "0.2")
        try:
            with pytest.raises(backend_client.BackendError, match="Timeout"):
                await backend_client._request("order", "GET", "/api/v1/service/orders/ORD-1")
        finally:
            server.close()

    asyncio.run(call_a_silent_backend())
