"""Macros: canned replies per team with variables, and effects applied when the agent sends one.

Variables are filled from the case at the moment of use, never stored filled:

- `{customer_name}`: the customer's name;
- `{order_id}`: the order the customer named in this conversation (the bot's `order_id` entity, latest
  first), else the customer's most recent order;
- `{tracking_link}`: that order's tracking page (ASSIST_TRACKING_URL with its carrier and tracking number).

A variable that cannot be filled is an error naming it (`MissingVariable`), shown to the agent: a reply with
a blank where the order number should be is worse than none. Effects go the normal ways: the reply through
`lifecycle.cases.reply`, priority through `lifecycle.automated.set_priority`, resolve through
`lifecycle.cases.resolve`; tags are labels beside the lifecycle (automation's tag table).
"""

from dataclasses import dataclass
from string import Formatter
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.agents.models import Agent
from backend.assist.models import Macro
from backend.audit import service as audit
from backend.automation.models import ConversationTag
from backend.cases.models import Case
from backend.conversations.models import Message
from backend.conversations.notifier import Notifier
from backend.core.config import Settings
from backend.core.database import utcnow
from backend.customers.models import Customer, Order
from backend.lifecycle import automated
from backend.lifecycle import cases as lifecycle

VARIABLES = ("customer_name", "order_id", "tracking_link")


class MissingVariable(ValueError):
    """A variable of the macro cannot be filled for this case (the message says which and why)."""


class BadTemplate(ValueError):
    """A macro body naming an unknown variable, or with unbalanced braces."""


def variables_of(body: str) -> list[str]:
    try:
        names = [name for _, name, _, _ in Formatter().parse(body) if name is not None]
    except ValueError as exc:
        raise BadTemplate(
            f"the body's braces do not pair up ({exc}); write {{{{ for a literal brace"
        ) from exc
    unknown = sorted({n for n in names if n not in VARIABLES})
    if unknown:
        raise BadTemplate(f"unknown variable(s) {', '.join(unknown)}; known: {', '.join(VARIABLES)}")
    return list(dict.fromkeys(names))


async def visible(session: AsyncSession, agent: Agent, query: str | None) -> list[Macro]:
    """Agents see their team's macros and everyone's ("all"); supervisors and admins every team's."""
    statement = select(Macro).order_by(Macro.name)
    if agent.role == "agent":
        statement = statement.where(or_(Macro.team == "all", Macro.team == (agent.team or "all")))
    if query:
        statement = statement.where(Macro.name.ilike(f"%{query}%") | Macro.body.ilike(f"%{query}%"))
    return list((await session.execute(statement)).scalars())


@dataclass
class Filled:
    text: str
    values: dict[str, str]


async def fill(session: AsyncSession, macro: Macro, case: Case, settings: Settings) -> Filled:
    values: dict[str, str] = {}
    for name in variables_of(macro.body):
        values[name] = await _value(session, name, case, settings)
    return Filled(macro.body.format(**values), values)


async def _value(session: AsyncSession, name: str, case: Case, settings: Settings) -> str:
    customer = await session.get(Customer, case.customer_id) if case.customer_id else None
    if name == "customer_name":
        if customer is None or not customer.name.strip():
            raise MissingVariable("cannot fill {customer_name}: the customer is an anonymous visitor")
        return customer.name
    order = await _order(session, case, customer)
    if order is None:
        raise MissingVariable(f"cannot fill {{{name}}}: no order was named and the customer has none on file")
    if name == "order_id":
        return order.order_number
    if not order.tracking_number or not order.carrier:
        raise MissingVariable(
            f"cannot fill {{tracking_link}}: order {order.order_number} ({order.status}) "
            "has no tracking number yet"
        )
    return settings.assist_tracking_url.format(carrier=order.carrier, tracking_number=order.tracking_number)


async def _order(session: AsyncSession, case: Case, customer: Customer | None) -> Order | None:
    query = (
        select(Message.entities)
        .where(Message.conversation_id == case.conversation_id, Message.sender == "customer")
        .order_by(Message.id.desc())
    )
    for entities in (await session.execute(query)).scalars():
        for entity in entities or []:
            if entity.get("entity") == "order_id" and entity.get("value"):
                number = str(entity["value"]).strip().upper()
                found = (await session.execute(select(Order).where(Order.order_number == number))).scalar()
                # Only an order of this customer: a mistyped number must not show another person's order.
                if found is not None and customer is not None and found.customer_id == customer.id:
                    return found
    if customer is None:
        return None
    latest = select(Order).where(Order.customer_id == customer.id).order_by(Order.placed_at.desc()).limit(1)
    return (await session.execute(latest)).scalar()


def effects_of(macro: Macro) -> dict[str, Any]:
    return {
        "add_tags": list(macro.add_tags),
        "set_priority": macro.set_priority,
        "resolve": macro.resolve_disposition,
    }


async def send(
    session: AsyncSession,
    macro: Macro,
    case: Case,
    agent: Agent,
    text: str,
    notifier: Notifier,
) -> Message:
    """The reply, then the macro's tags, priority and resolve, each through its own path."""
    message = await lifecycle.reply(session, case, agent, text, notifier)
    actor = f"agent:{agent.id}"
    for tag in macro.add_tags:
        await _tag(session, case.conversation_id, tag)
    if macro.set_priority is not None:
        await automated.set_priority(session, case.conversation_id, macro.set_priority, actor)
    audit.record(session, actor, "assist.macro.send", "case", case.id, after={"macro_id": macro.id})
    await session.commit()
    if macro.resolve_disposition:
        await lifecycle.resolve(session, case, agent, macro.resolve_disposition, notifier)
    return message


async def _tag(session: AsyncSession, conversation_id: str, tag: str) -> None:
    query = select(ConversationTag.id).where(
        ConversationTag.conversation_id == conversation_id, ConversationTag.tag == tag
    )
    if (await session.execute(query)).first() is None:
        session.add(ConversationTag(conversation_id=conversation_id, tag=tag, created_at=utcnow()))
