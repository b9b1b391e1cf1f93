"""An app on a real database, with Rasa answered by a scripted transport behind the real HTTP client.

A plugin (tests/conftest.py names it in `pytest_plugins`), so every domain folder gets these fixtures
without a conftest of its own (`app_server` serves the same app over real HTTP, for a browser); the helpers
(SERVICE_HEADERS, ScriptedRasa, default_answer, staff_headers) are imported from here.

Each app starts on a copy of one knowledge index of the seeded articles, built once per session
(`seeded_kb_index`), the way each database is a copy of one seeded file (tests/conftest.py)."""

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from backend.auth.tokens import customer_hash
from backend.core.config import Settings
from backend.main import create_app
from contract.embedding import encode
from knowledge.store import CHUNKS, MANIFEST, VECTORS
from tests.conftest import copy_sqlite

SERVICE_HEADERS = {"X-Service-Token": "test-service-token"}
# What the NLU's EmbeddingInParse puts in a parse (contract/embedding.py); any fixed vector stands in.
TEST_EMBEDDING = encode([((i % 7) - 3) / 10 for i in range(384)])
# The knowledge index proper. Not its lock file, nor the assist index beside it (`<kb_index_dir>/assist`): the
# assist tests build that one from their own cases and expect to start without it.
KB_INDEX_FILES = (MANIFEST, CHUNKS, VECTORS)


@dataclass
class ScriptedRasa:
    """Answers the hub channel like Rasa does; `down` makes every call fail like a dead server."""

    down: bool = False
    calls: list[dict[str, Any]] = field(default_factory=list)
    answer: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # Tracker events per conversation, as GET /conversations/{id}/tracker returns them.
    trackers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/":
            if self.down:
                raise httpx.ConnectError("connection refused", request=request)
            return httpx.Response(200, text="Hello from Rasa")
        if request.method == "GET" and request.url.path.endswith("/tracker"):
            if self.down:
                raise httpx.ConnectError("connection refused", request=request)
            conversation_id = request.url.path.split("/")[2]
            return httpx.Response(200, json={"events": self.trackers.get(conversation_id, [])})
        body = json.loads(request.content)
        self.calls.append(body)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json=(self.answer or default_answer)(body))


def default_answer(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "messages": [
            {"recipient_id": body["sender"], "text": f"You said: {body['message']}"},
            {
                "recipient_id": body["sender"],
                "text": "Anything else?",
                "buttons": [{"title": "No", "payload": "/deny"}],
            },
        ],
        "parse": {
            "text": body["message"],
            "intent": {"name": "order_status", "confidence": 0.91},
            "entities": [
                {"entity": "order_id", "value": "ORD-100001", "start": 0, "end": 10, "extractor": "X"}
            ],
            # Most support messages are neutral problem reports (docs/labelling.md); a test that needs a
            # dissatisfied customer scripts one.
            "sentiment": {"label": "neutral", "score": -0.2, "confidence": 0.8},
            "embedding": TEST_EMBEDDING,
            "message_id": body["message_id"],
        },
    }


@pytest.fixture
def rasa() -> ScriptedRasa:
    return ScriptedRasa()


def app_settings(database_url: str, work: Path) -> Settings:
    # Index and model files in the test's own folder: tests never read or change the developer's var/.
    return Settings(
        database_url=database_url,
        kb_index_dir=work / "kb_index",
        risk_model_dir=work / "risk_models",
        rasa_url="http://rasa.test",
        service_token=SERVICE_HEADERS["X-Service-Token"],
        secret_key="test-secret-key-of-at-least-32-bytes!",
        # The scripted Rasa's parses are no real model's: the rules decide hand-offs here, never a learnt
        # policy file from var/ (tests/handoff/test_handoff_policy.py configures the learnt one itself).
        handoff_policy="rules",
    )


@pytest.fixture(scope="session")
def seeded_kb_index(seeded_sqlite: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The knowledge index of the seeded articles, as an app start on the seeded database builds it in an
    empty directory. Built once per session (per xdist worker), so that the apps of the tests start by
    loading and verifying a copy instead of encoding every article again."""
    work = tmp_path_factory.mktemp("seeded_kb_index")
    copy_sqlite(seeded_sqlite, work / "seeded.db")
    settings = app_settings(f"sqlite:///{work / 'seeded.db'}", work)
    app = create_app(settings, rasa_transport=httpx.MockTransport(ScriptedRasa().handle))
    with TestClient(app):
        report = app.state.kb.report
    assert report.action == "rebuilt", report  # a fresh directory: built from the seeded articles
    return settings.kb_index_dir


def copy_kb_index(source: Path, target: Path) -> None:
    target.mkdir(parents=True)
    for name in KB_INDEX_FILES:
        shutil.copyfile(source / name, target / name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, seeded_kb_index: Path) -> Settings:
    """The app's settings on `database_url`, with a copy of the seeded articles' index in `kb_index_dir`.
    An app start checks the copy against the database's published articles and patches or rebuilds what
    differs, as in production, so a test whose articles differ at start still gets an index of its own."""
    settings = app_settings(database_url, tmp_path)
    copy_kb_index(seeded_kb_index, settings.kb_index_dir)
    return settings


@pytest.fixture
def client(settings: Settings, rasa: ScriptedRasa) -> Iterator[TestClient]:
    app = create_app(settings, rasa_transport=httpx.MockTransport(rasa.handle))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def client_with(settings: Settings, rasa: ScriptedRasa) -> Iterator[Callable[..., TestClient]]:
    """Apps on `client`'s database and scripted Rasa with settings changed (`client_with(x=...)`)."""
    opened: list[TestClient] = []

    def make(**changes: object) -> TestClient:
        app = create_app(settings.model_copy(update=changes), rasa_transport=httpx.MockTransport(rasa.handle))
        opened.append(TestClient(app).__enter__())
        return opened[-1]

    yield make
    for test_client in opened:
        test_client.__exit__(None, None, None)


@pytest.fixture
def app_server(settings: Settings, rasa: ScriptedRasa) -> Iterator[str]:
    """The app `client` tests (same settings, same scripted Rasa) served by uvicorn on loopback from a thread,
    for Chromium or a real HTTP client: its base URL. No trained model needed."""
    app = create_app(settings, rasa_transport=httpx.MockTransport(rasa.handle))
    # Port 0: the system picks a free port at bind time, so nothing can take it between choosing and binding.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:  # uvicorn offers no start event to wait on
        assert time.monotonic() < deadline and thread.is_alive(), "the app did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    # The app's shutdown stops its loops and joins its knowledge warm-up threads (torch: seconds, more on a
    # loaded machine). A thread still shutting down when the next test starts its app would set the shared
    # metrics (supportdesk_background_task_running) and use the CPU under it: wait for it, with a bound
    # that is liveness, not speed.
    thread.join(120)


@pytest.fixture
def widget(client: TestClient) -> dict[str, str]:
    """A widget session: conversation id, token and the auth header."""
    email = "demo@northwind.example"
    signature = customer_hash(email, client.app.state.settings.identity_secret)
    body = client.post(
        "/api/v1/widget/sessions", json={"customer_email": email, "customer_hash": signature}
    ).json()
    return {**body, "auth": f"Bearer {body['token']}"}


def anonymous_widget(client: TestClient) -> dict[str, str]:
    """A widget session of a visitor who is not signed in on the shop."""
    body = client.post("/api/v1/widget/sessions", json={}).json()
    return {**body, "auth": f"Bearer {body['token']}"}


def staff_headers(client: httpx.Client, email: str = "alex@northwind.example") -> dict[str, str]:
    """Sign in as a seeded staff member (demo password) and return the bearer header; `client` is a
    TestClient or a real HTTP client of `app_server`."""
    response = client.post("/api/v1/auth/token", data={"username": email, "password": "northwind-demo"})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
