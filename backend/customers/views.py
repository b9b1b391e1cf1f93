"""Routes for customers: staff reads (the action server's order look-up: backend/service_api/views.py)."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from backend.auth.dependencies import current_staff
from backend.core.dependencies import SessionDep
from backend.core.params import Offset, RecordId
from backend.customers import service
from backend.customers.schemas import CustomerOut

staff_router = APIRouter(
    prefix="/api/v1/customers", tags=["customers"], dependencies=[Depends(current_staff)]
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
