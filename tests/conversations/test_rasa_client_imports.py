"""The Rasa client's calls search no import path for sniffio: httpcore imports it inside every lock and event
it sets up, and while sniffio is not installed each of those imports searched sys.path again (CPU on every
turn, docs/benchmarks.md). The absence is remembered instead, and httpcore still runs on asyncio."""

import asyncio
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

import httpcore._synchronization
import pytest

import contract.imports
from backend.conversations.rasa_client import RasaClient
from contract.imports import remember_missing_sniffio


class ImportsSeen:
    """A meta-path finder that finds nothing and writes down every name it was asked for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        self.names.append(name)
        return None


@pytest.fixture
def imports_seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[ImportsSeen]:
    seen = ImportsSeen()
    monkeypatch.setattr(sys, "meta_path", [seen, *sys.meta_path])
    yield seen


async def _one_http_response(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = (await reader.readuntil(b"\r\n\r\n")).decode().lower()
    length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
    await reader.readexactly(length)  # the turn's JSON
    body = b'{"messages": [{"text": "hello"}], "parse": {"intent": {"name": "greet"}}}'
    reply = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    writer.write(reply.encode() + body)
    await writer.drain()
    writer.close()


@pytest.mark.skipif(importlib.util.find_spec("sniffio") is not None, reason="sniffio is installed here")
async def test_a_turn_sent_to_rasa_looks_for_no_sniffio(imports_seen: ImportsSeen) -> None:
    server = await asyncio.start_server(_one_http_response, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = RasaClient(f"http://127.0.0.1:{port}", timeout_s=5.0)
    try:
        turn = await client.send("c1", "hi", 1, {})
    finally:
        await client.close()
        server.close()
        await server.wait_closed()
    assert [r.text for r in turn.replies] == ["hello"]  # a real socket, through httpcore's pool and locks
    assert "sniffio" not in imports_seen.names
    assert httpcore._synchronization.current_async_library() == "asyncio"


def test_without_the_record_each_lookup_searches_again(
    imports_seen: ImportsSeen, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the record saves: the same import, not remembered, asks the finders every time."""
    monkeypatch.delitem(sys.modules, "sniffio", raising=False)
    for _ in range(2):
        with pytest.raises(ImportError):
            import sniffio  # noqa: F401
    assert imports_seen.names.count("sniffio") == 2


def test_an_installed_sniffio_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "sniffio", raising=False)
    spec = ModuleSpec("sniffio", loader=None)
    monkeypatch.setattr(contract.imports.importlib.util, "find_spec", lambda name: spec)
    remember_missing_sniffio()
    assert "sniffio" not in sys.modules  # imported the ordinary way when first used
