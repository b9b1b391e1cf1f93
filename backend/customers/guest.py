"""Guest order look-ups: what a visitor who is not signed in must show before the bot tells them anything
about an order (README "Security").

Order numbers are sequential, so a number proves nothing. As in a shop's guest order tracking, the visitor
shows the e-mail address the order was placed with. Until then nothing is said about the order, not even
whether it exists: without an e-mail every well-formed number gets EMAIL_NEEDED, and a wrong e-mail the same
None as a number nobody ordered. Each check is a row of guest_order_checks (never the address). After
GUEST_ORDER_WRONG_EMAILS misses the conversation looks up no order at all (REFUSED), so the pairs of number
and e-mail cannot be tried there one after another; an order whose e-mail the conversation has shown may be
asked about again without it.
"""

import hmac

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.customers.models import Customer, GuestOrderCheck, Order
from contract.service_api import Withheld


async def guest_order(
    session: AsyncSession, conversation_id: str, number: str, email: str | None, max_wrong: int
) -> Order | Withheld | None:
    """Order `number` for the anonymous visitor of `conversation_id`, if they may see it; None when there is
    no such order or not with this e-mail (the same answer for both), Withheld when the visitor is told
    nothing yet. Adds the check's row to the session when an e-mail was compared; the caller commits."""
    wrong_before = await wrong_emails(session, conversation_id)
    if wrong_before >= max_wrong:
        return Withheld.REFUSED
    found = (await session.execute(_order_and_email(number))).first()
    order, owner_email = found if found is not None else (None, None)
    if order is not None and await _shown_before(session, conversation_id, number):
        return order
    if email is None or not email.strip():
        return Withheld.EMAIL_NEEDED
    matched = order is not None and same_email(owner_email or "", email)
    session.add(GuestOrderCheck(conversation_id=conversation_id, order_number=number, matched=matched))
    await session.flush()
    if order is not None and matched:
        return order
    # This miss is the row just added: counted without reading them all again.
    return Withheld.REFUSED if wrong_before + 1 >= max_wrong else None


def same_email(on_file: str, given: str) -> bool:
    """The same address, ignoring case and the spaces around it. Compared in constant time: how long the
    comparison takes tells nothing about how much of the address was right."""
    return hmac.compare_digest(on_file.strip().lower().encode(), given.strip().lower().encode())


async def wrong_emails(session: AsyncSession, conversation_id: str) -> int:
    query = select(func.count()).where(
        GuestOrderCheck.conversation_id == conversation_id, GuestOrderCheck.matched.is_(False)
    )
    return int((await session.execute(query)).scalar_one())


def _order_and_email(number: str) -> Select[tuple[Order, str]]:
    # One query whether or not the order exists, so a missing order answers no faster than a wrong e-mail.
    return (
        select(Order, Customer.email)
        .join(Customer, Customer.id == Order.customer_id)
        .where(Order.order_number == number)
    )


async def _shown_before(session: AsyncSession, conversation_id: str, number: str) -> bool:
    query = select(GuestOrderCheck.id).where(
        GuestOrderCheck.conversation_id == conversation_id,
        GuestOrderCheck.order_number == number,
        GuestOrderCheck.matched.is_(True),
    )
    return (await session.execute(query.limit(1))).first() is not None
