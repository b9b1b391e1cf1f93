"""Against the real processes: erasing a customer deletes their conversation from the tracker store the
real Rasa server writes (scripts/stack.py gives Rasa and the backend the same RASA_TRACKER_DB)."""

import asyncio

import httpx
import pytest

from scripts.stack import Stack
from tests.dbcheck import rows
from tests.e2e.test_message_path import open_session, say

pytestmark = pytest.mark.e2e


def test_erasure_deletes_the_rasa_tracker_of_a_real_conversation(stack: Stack):
    # Not the demo customer: the other end-to-end tests share this stack and talk as her.
    [customer] = rows(
        stack.config.database_url,
        "SELECT id, email FROM customers WHERE email <> 'demo@northwind.example' ORDER BY id DESC LIMIT 1",
    )
    session = open_session(stack, email=customer["email"])
    asyncio.run(say(stack, session, ["hello, my email is " + customer["email"]]))
    tracker = f"sqlite:///{stack.config.rasa_tracker_db}"
    query = "SELECT count(*) AS n FROM events WHERE sender_id = :s"
    assert rows(tracker, query, s=session["conversation_id"])[0]["n"] > 0  # Rasa stored the turn

    base = stack.config.url(stack.config.backend_port)
    signed_in = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"username": "admin@northwind.example", "password": "northwind-demo"},
    )
    admin = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    erased = httpx.delete(f"{base}/api/v1/privacy/customers/{customer['id']}", headers=admin, timeout=30)
    assert erased.status_code == 200, erased.text
    assert erased.json()["rasa_trackers"] == {"erased": 1, "pending": 0, "detail": None}
    assert rows(tracker, query, s=session["conversation_id"])[0]["n"] == 0
