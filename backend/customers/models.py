"""Customers of the company using the platform, and their orders."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.database import Base, TimestampMixin, utcnow


class Customer(TimestampMixin, Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8), default="en")
    plan: Mapped[str] = mapped_column(String(32), default="basic")
    contract: Mapped[str] = mapped_column(String(32), default="month-to-month")
    monthly_charge: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0))
    signup_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="active")  # active, cancelled
    lifetime_value: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    payment_failures_90d: Mapped[int] = mapped_column(default=0)
    last_activity_at: Mapped[datetime | None]
    # Marketing consent and contact preferences (migration 0011; edited by staff, audited, through
    # /api/customers/{id}/preferences): offers and automation honour them. No consent until given.
    marketing_consent: Mapped[bool] = mapped_column(default=False, server_default=false())
    contact_channels: Mapped[list] = mapped_column(default=list)  # of "chat", "email", "phone"
    max_offers_per_month: Mapped[int | None]  # the customer's own cap, below the global one

    orders: Mapped[list["Order"]] = relationship(back_populates="customer", order_by="Order.placed_at.desc()")


class Order(TimestampMixin, Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(
        String(24)
    )  # processing, shipped, delayed, delivered, cancelled, returned
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    items: Mapped[list] = mapped_column(default=list)  # [{"product": str, "quantity": int}]
    placed_at: Mapped[datetime]
    estimated_delivery: Mapped[date | None]

    customer: Mapped[Customer] = relationship(back_populates="orders")


class GuestOrderCheck(Base):
    """An anonymous visitor's e-mail address checked against an order's (backend/customers/guest.py): whether
    it matched, never the address itself. A match lets the conversation see that order again; the misses
    count towards GUEST_ORDER_WRONG_EMAILS, after which the conversation looks no order up."""

    __tablename__ = "guest_order_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    # The number asked about, as normalised; it may name no order (a miss all the same).
    order_number: Mapped[str] = mapped_column(String(32))
    matched: Mapped[bool]
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
