"""One conversation exported for staff: its transcript (with what the bot understood of each customer
message), its cases (agent, disposition, rating) and whose it is, as JSON or as a page to print.

Here and not in conversations/, because an export carries the conversation's cases and conversations/
never imports cases/ (tests/lifecycle/test_lifecycle_boundaries.py). The caller audits each export.
"""

from html import escape

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.cases.models import Case
from backend.cases.schemas import CaseOut, ConversationExportOut
from backend.conversations.models import Conversation
from backend.conversations.schemas import ConversationOut, ParsedMessageOut
from backend.conversations.service import get_conversation_with_messages
from backend.core.database import utcnow
from backend.customers.models import Customer
from backend.customers.schemas import CustomerIdentityOut


async def build(session: AsyncSession, conversation_id: str, by: Agent) -> ConversationExportOut | None:
    """The export, or None when there is no such conversation."""
    conversation = await get_conversation_with_messages(session, conversation_id)
    if conversation is None:
        return None
    cases = select(Case).where(Case.conversation_id == conversation_id).order_by(Case.id)
    return ConversationExportOut(
        exported_at=utcnow(),
        exported_by=by.email,
        conversation=ConversationOut.model_validate(conversation),
        customer=await _customer(session, conversation),
        cases=[CaseOut.model_validate(c) for c in (await session.execute(cases)).scalars()],
        messages=[ParsedMessageOut.model_validate(m) for m in conversation.messages],
    )


async def _customer(session: AsyncSession, conversation: Conversation) -> CustomerIdentityOut | None:
    if conversation.customer_id is None:
        return None
    customer = await session.get(Customer, conversation.customer_id)
    return CustomerIdentityOut.model_validate(customer) if customer is not None else None


PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Conversation {id}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #111; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border-bottom: 1px solid #ccc; padding: 4px 8px;
text-align: left; vertical-align: top; }} .who {{ white-space: nowrap; font-weight: 600; }}
.meta {{ color: #555; font-size: 12px; }} @media print {{ body {{ margin: 0; }} }}
</style></head>
<body>
<h1>Conversation {id}</h1>
<p class="meta">Exported {exported_at} by {exported_by}. Customer: {customer}.
Channel {channel}; started {started}; now {status}, owned by the {owner}.</p>
<h2>Cases</h2>
{cases}
<h2>Transcript</h2>
<table><thead><tr><th>Time (UTC)</th><th>From</th><th>Message</th><th>Understood</th></tr></thead>
<tbody>
{messages}
</tbody></table>
</body>
</html>
"""


def render_html(export: ConversationExportOut) -> str:
    """A page to print or save: every value escaped, no script (the route's CSP allows none)."""
    c = export.conversation
    customer = export.customer
    who = f"{escape(customer.name)} &lt;{escape(customer.email)}&gt;" if customer else "anonymous"
    return PAGE.format(
        id=escape(c.id),
        exported_at=_time(export.exported_at),
        exported_by=escape(export.exported_by),
        customer=who,
        channel=escape(c.channel),
        started=_time(c.started_at),
        status=escape(c.status),
        owner=escape(c.owner),
        cases=_cases(export.cases),
        messages="\n".join(_message_row(m) for m in export.messages),
    )


def _cases(cases: list[CaseOut]) -> str:
    if not cases:
        return "<p>None: the bot handled this conversation alone.</p>"
    items = (
        f"<li>Case {c.id}: {escape(c.status)}, team {escape(c.skill)}, agent {c.assigned_agent_id or '-'}, "
        f"opened {_time(c.created_at)}, resolved {_time(c.resolved_at)} "
        f"({escape(c.disposition or '-')}), rating {c.csat or '-'}; reason: {escape(c.reason)}"
        f"{_survey(c)}</li>"
        for c in cases
    )
    return "<ul>" + "".join(items) + "</ul>"


def _survey(case: CaseOut) -> str:
    """The survey's other answers under the case, each after the question as it was asked."""
    if not case.csat_answers:
        return ""
    answers = (
        f"<li>{escape(a.question)} {a.rating if a.rating is not None else escape(a.text or '-')}</li>"
        for a in case.csat_answers
    )
    return "<ul class='survey'>" + "".join(answers) + "</ul>"


def _message_row(m: ParsedMessageOut) -> str:
    sender = m.author_name or m.sender
    understood = ""
    if m.intent:
        understood = f"{m.intent} ({(m.intent_confidence or 0):.2f})"
    if m.sentiment_label:
        understood += f"; {m.sentiment_label}"
    return (
        f"<tr><td>{_time(m.created_at)}</td><td class='who'>{escape(sender)}</td>"
        f"<td>{escape(m.text)}</td><td>{escape(understood)}</td></tr>"
    )


def _time(value: object) -> str:
    return escape(value.strftime("%Y-%m-%d %H:%M:%S")) if hasattr(value, "strftime") else "-"
