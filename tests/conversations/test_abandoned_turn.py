"""A backend worker killed mid-turn leaves the customer's message stored but unanswered; when the widget
re-sends it (same client_message_id) to another worker, that worker answers it once, without asking Rasa
again if Rasa had already processed the turn."""

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from backend.conversations import service
from backend.conversations.models import Message
from backend.conversations.rasa_client import BotReply
from backend.lifecycle import conversations as lifecycle
from tests.app_fixtures import ScriptedRasa
from tests.conversations.test_message_path import send
from tests.dbcheck import execute, rows


def abandoned_message(database_url: str, conversation_id: str, client_id: str, age_s: float) -> int:
    """What a worker that died after storing the message (and before answering) leaves behind."""
    created = datetime.now(UTC) - timedelta(seconds=age_s)
    execute(
        database_url,
        "INSERT INTO messages (conversation_id, sender, text, client_message_id, bot_status, created_at) "
        "VALUES (:c, 'customer', 'where is my order?', :cid, 'pending', :t)",
        c=conversation_id,
        cid=client_id,
        t=created,
    )
    [row] = rows(database_url, "SELECT id FROM messages WHERE client_message_id = :cid", cid=client_id)
    return row["id"]


def statuses(database_url: str, conversation_id: str) -> list[tuple[str, str | None]]:
    return [
        (r["sender"], r["bot_status"])
        for r in rows(
            database_url,
            "SELECT sender, bot_status FROM messages WHERE conversation_id = :c ORDER BY id",
            c=conversation_id,
        )
    ]


def test_a_resent_abandoned_message_is_answered_once(client, widget, database_url, rasa: ScriptedRasa):
    abandoned_message(database_url, widget["conversation_id"], "lost-worker-1", age_s=120)
    again = send(client, widget, "where is my order?", client_id="lost-worker-1").json()
    assert again["duplicate"] is True
    assert [r["text"] for r in again["replies"]] == ["You said: where is my order?", "Anything else?"]
    assert len(rasa.calls) == 1
    third = send(client, widget, "where is my order?", client_id="lost-worker-1").json()
    assert [r["id"] for r in third["replies"]] == [r["id"] for r in again["replies"]]
    assert len(rasa.calls) == 1  # answered once however often it is re-sent
    assert statuses(database_url, widget["conversation_id"]) == [
        ("customer", "answered"),
        ("bot", None),
        ("bot", None),
    ]


def test_a_turn_rasa_already_processed_is_read_back_from_the_tracker(
    client, widget, database_url, rasa: ScriptedRasa
):
    message_id = abandoned_message(database_url, widget["conversation_id"], "lost-worker-2", age_s=120)
    rasa.trackers[widget["conversation_id"]] = [
        {"event": "user", "text": "where is my order?", "message_id": str(message_id),
         "parse_data": {"intent": {"name": "order_status", "confidence": 0.8}}},
        {"event": "bot", "text": "Which order number?", "data": {}},
        {"event": "action", "name": "action_listen"},
    ]  # fmt: skip
    again = send(client, widget, "where is my order?", client_id="lost-worker-2").json()
    assert [r["text"] for r in again["replies"]] == ["Which order number?"]
    assert rasa.calls == []  # Rasa is not asked to process the same turn twice
    [stored] = rows(database_url, "SELECT intent, bot_status FROM messages WHERE id = :i", i=message_id)
    assert stored == {"intent": "order_status", "bot_status": "answered"}


def test_a_recent_pending_message_is_left_to_the_worker_still_answering_it(
    client, widget, database_url, rasa: ScriptedRasa
):
    abandoned_message(database_url, widget["conversation_id"], "in-flight", age_s=0)
    # The first worker is alive and finishes the turn a moment after the re-send arrives.
    finish = threading.Timer(
        0.3,
        execute,
        (database_url, "UPDATE messages SET bot_status = 'answered' WHERE client_message_id = 'in-flight'"),
    )
    finish.start()
    again = send(client, widget, "where is my order?", client_id="in-flight").json()
    finish.join()
    assert again["duplicate"] is True and again["replies"] == []
    assert rasa.calls == []  # the re-send waited for the first worker instead of answering a second time


def test_a_turn_taken_over_by_another_worker_is_not_answered_by_its_first_worker_too(
    client, widget, database_url, rasa: ScriptedRasa
):
    message_id = abandoned_message(database_url, widget["conversation_id"], "slow-worker", age_s=120)
    send(client, widget, "where is my order?", client_id="slow-worker")  # a re-send takes the turn over

    async def first_worker_finishes_late() -> object:
        # What the first worker does when its (very slow) turn finally ends: store its holding reply.
        async with client.app.state.sessions() as session:
            conversation = await service.get_conversation(session, widget["conversation_id"])
            message = await session.get(Message, message_id)
            reply = [BotReply(text="late holding reply")]
            return await lifecycle.store_bot_replies(
                session, conversation, message, reply, status="failed", owned_as="pending"
            )

    assert client.portal.call(first_worker_finishes_late) is None
    texts = rows(database_url, "SELECT text FROM messages WHERE in_reply_to = :i ORDER BY id", i=message_id)
    assert [t["text"] for t in texts] == ["You said: where is my order?", "Anything else?"]
    [stored] = rows(database_url, "SELECT bot_status FROM messages WHERE id = :i", i=message_id)
    assert stored["bot_status"] == "answered"


def test_re_sends_waiting_for_a_turn_in_flight_hold_no_database_connection(client, database_url):
    """Under overload many customers re-send at once; each waits for the turn still being answered, and must
    not keep a pooled connection while it waits, or the pool runs dry and every other turn stalls."""
    waiting = 12  # more than a pool of 5 (+10 overflow) could lend for long without others stalling
    sessions = [client.post("/api/v1/widget/sessions", json={}).json() for _ in range(waiting)]
    conversations = [session["conversation_id"] for session in sessions]
    for conversation_id in conversations:
        abandoned_message(database_url, conversation_id, f"in-flight-{conversation_id}", age_s=0)
    engine = client.app.state.sessions.kw["bind"]
    hub = client.app.state.hub

    async def connections_held_while_waiting() -> int:
        resends = [
            asyncio.create_task(hub.customer_message(c, "where is my order?", f"in-flight-{c}"))
            for c in conversations
        ]
        await asyncio.sleep(1.5)  # every re-send has polled a few times by now (on an idle machine)
        # The fewest connections out over a second of waiting: a re-send reading its message between two
        # polls holds one briefly, and on a loaded machine one sample may catch several at it; a re-send
        # that held its connection while it waited would be in every sample (12 of them, beyond the bound).
        held = engine.pool.checkedout()
        for _ in range(10):
            await asyncio.sleep(0.1)
            held = min(held, engine.pool.checkedout())
        await asyncio.to_thread(
            execute, database_url, "UPDATE messages SET bot_status = 'answered' WHERE bot_status = 'pending'"
        )
        turns = await asyncio.gather(*resends)
        assert all(turn.duplicate and turn.replies == [] for turn in turns)
        return held

    assert client.portal.call(connections_held_while_waiting) <= 2  # background loops may hold one briefly
