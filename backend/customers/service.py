"""Customer and order look-ups."""

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.customers.models import Customer, Order
from backend.customers.schemas import OrderOut, RecentOrderOut

ORDER_ID = re.compile(r"^(?:ORD-?)?(\d{6})$", re.IGNORECASE)


def normalize_order_id(raw: str) -> str | None:
    """'ord100234', 'ORD-100234' and '100234' all name order ORD-100234."""
    match = ORDER_ID.match(raw.strip())
    return f"ORD-{match.group(1)}" if match else None


async def get_by_email(session: AsyncSession, email: str) -> Customer | None:
    query = select(Customer).where(func.lower(Customer.email) == email.lower())
    return (await session.execute(query)).scalar_one_or_none()


async def get_customer(session: AsyncSession, customer_id: int) -> Customer | None:
    return await session.get(Customer, customer_id)


async def list_customers(session: AsyncSession, limit: int, offset: int) -> list[Customer]:
    query = select(Customer).order_by(Customer.id).limit(limit).offset(offset)
    return list((await session.execute(query)).scalars())


async def get_order(session: AsyncSession, order_number: str) -> Order | None:
    query = select(Order).where(Order.order_number == order_number)
    return (await session.execute(query)).scalar_one_or_none()


async def recent_orders(session: AsyncSession, customer_id: int, limit: int) -> list[RecentOrderOut]:
    """The customer's `limit` latest orders, newest first: what the bot offers to pick from when a signed-in
    shopper asks about "my order" without its number."""
    query = (
        select(Order.order_number, Order.status, Order.placed_at)
        .where(Order.customer_id == customer_id)
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [RecentOrderOut(order_id=number, status=state, placed_at=placed) for number, state, placed in rows]


def order_out(order: Order) -> OrderOut:
    return OrderOut(
        order_id=order.order_number,
        status=order.status,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        estimated_delivery=order.estimated_delivery,
        placed_at=order.placed_at,
        total=order.total,
        currency=order.currency,
        items=order.items,
    )
