"""The contract between the action server and the backend, checked on the real thing: the backend runs as a
process (uvicorn, a fresh seeded SQLite database), and every function of actions/backend_client.py is called
from the bot's venv (Python 3.10, Rasa's pinned packages), which must get the types of
contract/service_api.py back. Only the backend is started (no Rasa), so this stays well under a minute.
"""

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.customers.schemas import OrderOut
from backend.kb.schemas import SearchOut
from backend.risk.schemas import RetentionOfferOut
from contract import service_api as contract
from scripts.paths import BOT_BIN, ROOT
from scripts.stack import Stack, StackConfig, stop_on_signals
from tests.e2e.test_message_path import open_session

pytestmark = pytest.mark.e2e

SERVICE_TOKEN = "contract-service-token"
QUESTION = "How much does the Plus plan cost?"

# Runs in the bot venv: each client call, its result's type and its contract JSON, printed as one object.
CLIENT_CALLS = """
import asyncio, json, sys
from actions import backend_client
from contract import service_api

DEMO_EMAIL = " Demo@Northwind.example"

async def calls(conversation_id, question):
    results = {
        "order": await backend_client.get_order("ord100001", conversation_id),
        # The demo shopper's order with their address (case and spaces as a visitor might type them): the
        # order for an anonymous visitor's conversation; a signed-in shopper's ignores the address.
        "order_with_email": await backend_client.get_order("ord100001", conversation_id, DEMO_EMAIL),
        "unknown_order": await backend_client.get_order("ORD-999999", conversation_id),
        "not_an_order": await backend_client.get_order("banana", conversation_id),
        "search": await backend_client.search_knowledge(question),
        "retention": await backend_client.retention_offer(conversation_id),
        "handoff": await backend_client.handoff(conversation_id, "Topic: cancel subscription"),
        "handoff_again": await backend_client.handoff(conversation_id, "asked again"),
    }
    try:
        await backend_client.handoff("no-such-conversation", "x")
        results["unknown_conversation"] = "no error"
    except backend_client.BackendError:
        results["unknown_conversation"] = "BackendError"
    return results

out = {}
for name, value in asyncio.run(calls(sys.argv[1], sys.argv[2])).items():
    typed = value is None or isinstance(value, str) or type(value).__module__ == service_api.__name__
    as_json = value.to_json() if hasattr(value, "to_json") else getattr(value, "value", value)
    out[name] = [type(value).__name__, as_json, typed]
print(json.dumps(out))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real backend alone, migrated and seeded like `make run`'s (scripts/stack.py)."""
    work: Path = tmp_path_factory.mktemp("contract")
    config = StackConfig(
        database_url=f"sqlite:///{work / 'supportdesk.db'}",
        backend_port=_free_port(),
        log_dir=ROOT / "test-artifacts" / "contract-logs",
        extra_env={
            "ENVIRONMENT": "production",
            "SERVICE_TOKEN": SERVICE_TOKEN,
            "SECRET_KEY": "contract-secret-key-of-at-least-32-bytes",
            "IDENTITY_SECRET": "e2e-identity-secret",  # what open_session signs with
            "KB_INDEX_DIR": str(work / "kb_index"),
            "RISK_MODEL_DIR": str(work / "risk_models"),
            "CHURN_HIGH_THRESHOLD": "0.01",  # every signed-in customer gets an offer: the offer path runs
        },
    )
    stop_on_signals()
    stack = Stack(config)
    stack.prepare_database()
    stack.config.log_dir.mkdir(parents=True, exist_ok=True)
    stack.restart("backend")  # starts just this one process
    try:
        _wait_for_search(stack)
        yield stack
    finally:
        stack.stop()


def _wait_for_search(stack: Stack, timeout_s: float = 120) -> None:
    """Until the knowledge index answers (it is built at start-up; 503 until then)."""
    url = stack.config.url(stack.config.backend_port) + "/api/v1/service/kb/search"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert stack.processes["backend"].poll() is None, f"backend exited; see {stack.config.log_dir}"
        try:
            response = httpx.get(url, params={"q": "plans"}, headers={"X-Service-Token": SERVICE_TOKEN})
            if response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the backend's knowledge search did not answer in {timeout_s} s")


def _client_results(stack: Stack, conversation_id: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BACKEND_URL": stack.config.url(stack.config.backend_port),
        "SERVICE_TOKEN": SERVICE_TOKEN,
    }
    done = subprocess.run(
        [str(BOT_BIN / "python"), "-c", CLIENT_CALLS, conversation_id, QUESTION],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_backend_client_call_returns_the_contract_types_from_the_real_backend(backend: Stack) -> None:
    conversation_id = open_session(backend)["conversation_id"]  # the seeded demo customer, signed in
    results = _client_results(backend, conversation_id)
    assert all(typed for _, _, typed in results.values()), results

    kind, order, _ = results["order"]
    assert kind == "Order" and order["order_id"] == "ORD-100001" and order["items"]
    OrderOut.model_validate(order)  # what the bot read is what the backend's model describes
    assert results["order_with_email"][1] == order
    assert results["unknown_order"][0] == results["not_an_order"][0] == "NoneType"

    kind, search, _ = results["search"]
    assert kind == "KnowledgeSearch" and search["query"] == QUESTION and search["results"]
    assert SearchOut.model_validate(search).results[0].url.startswith("/kb/")

    kind, retention, _ = results["retention"]
    assert kind == "RetentionOffer" and retention["offer"] and retention["threshold"] == 0.01
    RetentionOfferOut.model_validate(retention)

    kind, handoff, _ = results["handoff"]
    assert kind == "HandoffResult" and handoff["message"] == contract.HANDOFF_MESSAGE
    assert results["handoff_again"][1]["case_id"] == handoff["case_id"]  # one case per conversation
    assert results["unknown_conversation"][1] == "BackendError"  # 404 reaches the action as its one error


def test_the_bot_reads_what_the_backend_sends_field_for_field(backend: Stack) -> None:
    """The app venv reads the raw JSON as the bot venv does: no field lost, renamed or read otherwise."""
    base = backend.config.url(backend.config.backend_port) + "/api/v1/service"
    headers = {"X-Service-Token": SERVICE_TOKEN}
    raw = httpx.get(f"{base}/orders/ORD-100001", headers=headers).json()
    assert set(raw) == set(contract.Order.__dataclass_fields__)
    conversation_id = open_session(backend, email=None)["conversation_id"]  # anonymous: no offer
    results = _client_results(backend, conversation_id)
    # A visitor's order only with the address it was placed with; without it, nothing, not even existence.
    assert results["order"][:2] == results["unknown_order"][:2] == ["Withheld", "email_needed"]
    assert contract.Order.from_json(raw) == contract.Order.from_json(results["order_with_email"][1])
    assert results["retention"][1]["offer"] is None and results["retention"][1]["churn_risk"] is None
