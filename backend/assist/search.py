"""Inbox search across conversations: messages with the words, in cases the staff member may see.

A plain substring match (LIKE, case-insensitive, on both databases) over message text: agents look for an
order number, an email or a phrase they remember, where meaning-based search would miss the exact token.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.cases.models import Case
from backend.cases.service import _visible_to  # the one rule of which cases a staff member sees
from backend.conversations.models import Conversation, Message

SNIPPET_CHARS = 160


@dataclass
class Hit:
    case_id: int
    conversation_id: str
    status: str
    skill: str
    message_id: int
    sender: str
    snippet: str
    created_at: datetime


def _like(words: str) -> str:
    escaped = words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def snippet(text: str, words: str) -> str:
    at = text.lower().find(words.lower())
    start = max(0, at - SNIPPET_CHARS // 2) if at >= 0 else 0
    piece = " ".join(text[start : start + SNIPPET_CHARS].split())
    return ("…" if start else "") + piece + ("…" if start + SNIPPET_CHARS < len(text) else "")


async def search(session: AsyncSession, agent: Agent, words: str, limit: int) -> list[Hit]:
    visible = _visible_to(select(Case.id), agent)  # type: ignore[arg-type]
    query = (
        select(Message, Case)
        .join(Case, Case.conversation_id == Message.conversation_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Case.id.in_(visible), Conversation.transcript_erased_at.is_(None))
        .where(func.lower(Message.text).like(_like(words), escape="\\"))
        .order_by(Message.id.desc())
        .limit(limit * 3)
    )
    hits: dict[int, Hit] = {}
    for message, case in (await session.execute(query)).all():
        if case.id not in hits and len(hits) < limit:  # one hit per case: its newest matching message
            hits[case.id] = Hit(
                case.id,
                case.conversation_id,
                case.status,
                case.skill,
                message.id,
                message.sender,
                snippet(message.text, words),
                message.created_at,
            )
    return list(hits.values())
