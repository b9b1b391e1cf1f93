"""The satisfaction survey after a resolved case: up to three questions, the first always the 1-5 score.

The score stays in `cases.csat`, which analytics, the automation trigger `csat_received` and the decision
outcomes read; the configured questions after it (CSAT_EXTRA_QUESTIONS) are answered into
`cases.csat_answers`, each with the question's wording as asked, so an answer still reads right after the
questions are changed. Free text is stored redacted only (the privacy redactor, as for messages' redacted
copy): nobody needs a customer's phone number in a survey comment, and the raw words are then never held.
A customer's erasure replaces the text too (`erase_text`): the redactor can miss what a person wrote.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.conversations.models import Conversation
from backend.core.config import CsatQuestion, Settings
from backend.customers.models import Customer
from backend.privacy import redactor

CSAT_QUESTION = "How did we do? Please rate this conversation from 1 (poor) to 5 (excellent)."
SATISFACTION = CsatQuestion(id="satisfaction", kind="rating", text=CSAT_QUESTION)
TEXT_MAX = 500  # a short answer; a longer story belongs in a message to the team


class CsatInvalid(ValueError):
    """An answer the survey does not ask for, or of the wrong kind or range (the message says which)."""


@dataclass(frozen=True)
class Answer:
    question: CsatQuestion
    value: int | str


def questions(settings: Settings) -> list[CsatQuestion]:
    """The survey as the widget shows it: the satisfaction score first, then the configured ones."""
    return [SATISFACTION, *settings.csat_extra_questions]


def check(answers: dict[str, int | str], settings: Settings) -> list[Answer]:
    """The answers to the configured questions, in the survey's order; unanswered ones are skipped."""
    asked = {question.id: question for question in settings.csat_extra_questions}
    unknown = sorted(set(answers) - set(asked))
    if unknown:
        raise CsatInvalid(f"unknown CSAT question {', '.join(unknown)}; asked: {', '.join(asked) or 'none'}")
    return [Answer(q, _checked(q, answers[q.id])) for q in asked.values() if q.id in answers]


def _checked(question: CsatQuestion, value: int | str) -> int | str:
    if question.kind == "rating":
        if not isinstance(value, int) or not 1 <= value <= 5:
            raise CsatInvalid(f"{question.id} is a rating from 1 to 5")
        return value
    if not isinstance(value, str):
        raise CsatInvalid(f"{question.id} is a text answer")
    if len(value.strip()) > TEXT_MAX:
        raise CsatInvalid(f"{question.id} is at most {TEXT_MAX} characters")
    return value.strip()


async def to_store(
    session: AsyncSession, conversation_id: str, answers: list[Answer], settings: Settings
) -> list[dict[str, str | int | None]]:
    """The rows of `cases.csat_answers`, free text redacted (names known to the CRM included)."""
    texts = [a.value for a in answers if isinstance(a.value, str) and a.value]
    redacted = iter(await _redact(session, conversation_id, texts, settings) if texts else [])
    rows: list[dict[str, str | int | None]] = []
    for answer in answers:
        is_text = isinstance(answer.value, str)
        text = (next(redacted) if answer.value else "") if is_text else None
        row = {"id": answer.question.id, "kind": answer.question.kind, "question": answer.question.text}
        rows.append({**row, "rating": None if is_text else answer.value, "text": text})
    return rows


async def _redact(
    session: AsyncSession, conversation_id: str, texts: list[str], settings: Settings
) -> list[str]:
    staff = list((await session.execute(select(Agent.name))).scalars())
    query = select(Customer.name).join(Conversation, Conversation.customer_id == Customer.id)
    customer = (await session.execute(query.where(Conversation.id == conversation_id))).scalar_one_or_none()
    known = [*staff, *([customer] if customer else [])]
    return await redactor.redact_many(texts, settings.pii_person_names, [known] * len(texts))


def erase_text(answers: list[dict[str, str | int | None]] | None, marker: str) -> list | None:
    """The answers with every free-text answer replaced by `marker`; the ratings stay, like `cases.csat`."""
    if not answers:
        return answers
    return [{**a, "text": marker} if a.get("kind") == "text" else a for a in answers]
