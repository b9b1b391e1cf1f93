"""Customer and order bodies returned by the API."""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class OrderItem(BaseModel):
    product: str
    quantity: int


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    order_id: str
    status: str
    carrier: str | None
    tracking_number: str | None
    estimated_delivery: date | None
    placed_at: datetime
    total: Decimal
    currency: str
    items: list[OrderItem]


class RecentOrderOut(BaseModel):
    order_id: str
    status: str
    placed_at: datetime


class RecentOrdersOut(BaseModel):
    """The conversation's customer's latest orders, newest first; none for an anonymous visitor."""

    orders: list[RecentOrderOut]


class CustomerIdentityOut(BaseModel):
    """Who the customer is, without the account's figures: what a conversation export names."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    language: str
    plan: str


class CustomerOut(CustomerIdentityOut):
    """The customer as staff see them in the CRM: who they are and their account's figures."""

    contract: str
    monthly_charge: Decimal
    signup_date: date
    status: str
    lifetime_value: Decimal
