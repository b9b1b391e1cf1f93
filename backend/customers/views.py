"""Routes for customers and orders: staff reads, and the action server's order look-up."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from backend.auth.dependencies import current_staff, require_service
from backend.customers import service
from backend.customers.schemas import CustomerOut, OrderOut
from backend.dependencies import SessionDep
from backend.params import Offset, RecordId
from backend.text import Text

staff_router = APIRouter(
    prefix="/api/v1/customers", tags=["customers"], dependencies=[Depends(current_staff)]
)
service_router = APIRouter(
    prefix="/api/v1/service", tags=["service"], dependencies=[Depends(require_service)]
)


@staff_router.get("", response_model=list[CustomerOut])
async def list_customers(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> list[CustomerOut]:
    return [CustomerOut.model_validate(c) for c in await service.list_customers(session, limit, offset)]


@staff_router.get("/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: RecordId, session: SessionDep) -> CustomerOut:
    customer = await service.get_customer(session, customer_id)
    if customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "customer not found")
    return CustomerOut.model_validate(customer)


@service_router.get("/orders/{order_id}", response_model=OrderOut)
async def lookup_order(order_id: Text, session: SessionDep) -> OrderOut:
    """Order status for the bot. Accepts 'ORD-100234', 'ord100234' or '100234'."""
    number = service.normalize_order_id(order_id)
    if number is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "order ids look like ORD-123456")
    order = await service.get_order(session, number)
    if order is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no order {number}")
    return service.order_out(order)
