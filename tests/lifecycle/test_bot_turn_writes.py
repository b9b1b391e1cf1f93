"""A bot turn's write of the customer's message (`store_bot_replies`): what the caller set on the message goes
out with the status, in the one guarded UPDATE, and a message nobody changed sends the status alone."""

import asyncio

from sqlalchemy import event

from backend.conversations.rasa_client import BotReply
from backend.core.config import to_async_url
from backend.core.database import make_engine, make_sessionmaker
from backend.lifecycle import conversations as lifecycle
from tests.dbcheck import rows


async def _two_turns(database_url: str) -> list[str]:
    """Two customer messages answered: the first with an intent the caller set on it, the second untouched;
    returns the SQL of every UPDATE of a message."""
    engine = make_engine(to_async_url(database_url))
    updates: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE MESSAGES"):
            updates.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with make_sessionmaker(engine)() as session:
            conversation = await lifecycle.open_conversation(session, None)
            for text, intent in (("where is my order?", "order_status"), ("thanks", None)):
                message, _ = await lifecycle.store_customer_message(session, conversation, text, None)
                if intent is not None:
                    message.intent = intent
                reply = [BotReply(text="ok")]
                await lifecycle.store_bot_replies(
                    session, conversation, message, reply, "answered", "pending"
                )
    finally:
        await engine.dispose()
    return updates


def test_the_callers_change_goes_out_with_the_status_and_an_untouched_message_sends_the_status_alone(
    database_url: str,
) -> None:
    first, second = (sql.replace(" ", "") for sql in asyncio.run(_two_turns(database_url)))
    assert "intent=" in first and "bot_status=" in first
    assert "intent=" not in second and "bot_status=" in second
    stored = rows(database_url, "SELECT text, intent, bot_status FROM messages WHERE sender = 'customer'")
    assert {(r["text"], r["intent"], r["bot_status"]) for r in stored} >= {
        ("where is my order?", "order_status", "answered"),
        ("thanks", None, "answered"),
    }
