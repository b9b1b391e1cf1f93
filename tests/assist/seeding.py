"""Past conversations written straight to the database: a customer's question, the agent's replies, the case
resolved. What the suggestions, similar cases and gaps read."""

from datetime import UTC, datetime, timedelta

from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from tests.dbcheck import execute, rows
from tests.decisions.helpers import insert


def agent_id(database_url: str, email: str) -> int:
    return rows(database_url, "SELECT id FROM agents WHERE email = :e", e=email)[0]["id"]


def online(database_url: str, email: str) -> int:
    """The agent online, so the dispatcher leaves their accepted cases with them (an offline agent's go back
    to the queue)."""
    execute(database_url, "UPDATE agents SET status = 'online' WHERE email = :e", e=email)
    return agent_id(database_url, email)


def customer_id(database_url: str, email: str) -> int:
    return rows(database_url, "SELECT id FROM customers WHERE email = :e", e=email)[0]["id"]


def conversation(
    database_url: str,
    customer: int | None,
    questions: list[str],
    replies: list[str],
    agent: int | None,
    *,
    status: str = "resolved",
    disposition: str | None = "solved",
    days_ago: float = 3,
    entities: list[dict] | None = None,
    intent: str = "nlu_fallback",
) -> dict[str, int | str]:
    """A conversation with its case; customer questions first, then the agent's replies. Returns the ids."""
    start = datetime.now(UTC) - timedelta(days=days_ago)
    (conversation_id,) = insert(
        database_url,
        Conversation(customer_id=customer, owner="human", started_at=start, last_message_at=start),
    )
    asked = insert(
        database_url,
        *[
            Message(
                conversation_id=conversation_id,
                sender="customer",
                text=q,
                intent=intent,
                entities=entities,
                created_at=start + timedelta(seconds=i),
            )
            for i, q in enumerate(questions)
        ],
    )
    opened = start + timedelta(seconds=len(questions) + 1)
    resolved = opened + timedelta(minutes=10) if status == "resolved" else None
    (case_id,) = insert(
        database_url,
        Case(
            conversation_id=conversation_id,
            customer_id=customer,
            reason="asked for a person",
            status=status,
            assigned_agent_id=agent,
            created_at=opened,
            accepted_at=opened if agent else None,
            resolved_at=resolved,
            disposition=disposition if status == "resolved" else None,
        ),
    )
    answered = insert(
        database_url,
        *[
            Message(
                conversation_id=conversation_id,
                sender="agent",
                agent_id=agent,
                text=r,
                created_at=opened + timedelta(minutes=1 + i),
            )
            for i, r in enumerate(replies)
        ],
    )
    return {"conversation_id": conversation_id, "case_id": case_id, "questions": asked, "replies": answered}
