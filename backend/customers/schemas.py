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


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    language: str
    plan: str
    contract: str
    monthly_charge: Decimal
    signup_date: date
    status: str
    lifetime_value: Decimal
