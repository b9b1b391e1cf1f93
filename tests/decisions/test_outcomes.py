"""The outcome job fills each decision's outcome from a seeded history: what the customer did next, the
case's disposition and rating, whether they came back about the same need, whether they cancelled."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.core.config import to_async_url
from backend.decisions.models import Decision
from backend.decisions.outcomes import join_outcomes
from tests.dbcheck import execute, rows
from tests.decisions.helpers import decisions, insert

START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def run_job(database_url: str, now: datetime) -> int:
    async def job() -> int:
        engine = create_async_engine(to_async_url(database_url))
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                return await join_outcomes(session, now)
        finally:
            await engine.dispose()

    return asyncio.run(job())


def customer_id(database_url: str) -> int:
    return rows(database_url, "SELECT id FROM customers WHERE email = 'demo@northwind.example'")[0]["id"]


def message(conversation: str, intent: str, minutes: int, sender: str = "customer") -> Message:
    return Message(
        conversation_id=conversation,
        sender=sender,
        text="…",
        intent=intent,
        created_at=START + timedelta(minutes=minutes),
    )


def handoff_decision(
    conversation: str, customer: int, message_id: int, action: str, minutes: int, **fields
) -> Decision:
    return Decision(
        kind="handoff", action=action, version="rules", conversation_id=conversation, customer_id=customer,
        message_id=message_id, created_at=START + timedelta(minutes=minutes), **fields,
    )  # fmt: skip


def test_a_continue_followed_by_a_request_for_a_person_and_a_return_visit(database_url):
    customer = customer_id(database_url)
    insert(
        database_url,
        Conversation(id="conv-a", customer_id=customer, started_at=START),
        Conversation(id="conv-b", customer_id=customer, started_at=START + timedelta(days=3)),
    )
    first, _, _ = insert(
        database_url,
        message("conv-a", "failed_payment", 0),
        message("conv-a", "failed_payment", 1),
        message("conv-a", "request_human", 2),
    )
    (case_id,) = insert(
        database_url,
        Case(
            conversation_id="conv-a",
            customer_id=customer,
            reason="asked",
            created_at=START + timedelta(minutes=2),
            status="resolved",
            disposition="refunded",
            csat=4,
            first_response_at=START + timedelta(minutes=5),
            resolved_at=START + timedelta(minutes=20),
        ),
    )
    insert(database_url, message("conv-b", "failed_payment", 3 * 24 * 60))  # back 3 days later, same need
    continued, handed = insert(
        database_url,
        handoff_decision("conv-a", customer, first, "continue", 0),
        handoff_decision("conv-a", customer, first + 2, "handoff", 2, case_id=case_id),
    )
    assert run_job(database_url, START + timedelta(days=1)) == 2
    rows_ = {d["id"]: d for d in decisions(database_url, "handoff")}
    early = rows_[continued]["outcome"]
    assert early["asked_for_person_within_2_turns"] is True and early["handed_over_later"] is True
    assert (early["case_id"], early["disposition"], early["csat"]) == (case_id, "refunded", 4)
    assert early["first_response_s"] == 180 and early["resolution_s"] == 1080
    assert early["came_back_within_7_days"] is None  # not yet: the return visit is on day 3
    assert rows_[continued]["outcome_final"] in (False, 0)

    assert run_job(database_url, START + timedelta(days=8)) == 2
    rows_ = {d["id"]: d for d in decisions(database_url, "handoff")}
    assert rows_[continued]["outcome"]["came_back_within_7_days"] is True
    assert rows_[continued]["outcome_final"] in (True, 1)
    assert rows_[handed]["outcome"]["asked_for_person_within_2_turns"] is False  # nothing after it
    assert rows_[handed]["outcome"]["handed_over_later"] is False and rows_[handed]["outcome"]["csat"] == 4
    assert run_job(database_url, START + timedelta(days=9)) == 0  # final outcomes are not read again


def test_a_quiet_continue_ends_final_without_a_return_and_a_retention_offer_learns_cancellation(database_url):
    customer = customer_id(database_url)
    insert(database_url, Conversation(id="conv-q", customer_id=customer, started_at=START))
    asked, reply = insert(
        database_url, message("conv-q", "cancel_subscription", 0), message("conv-q", "affirm", 1)
    )
    quiet, offer = insert(
        database_url,
        handoff_decision("conv-q", customer, asked, "continue", 0),
        Decision(
            kind="retention_offer",
            action="offer:1",
            version="churn v1 + offer rules",
            conversation_id="conv-q",
            customer_id=customer,
            created_at=START,
        ),
    )
    run_job(database_url, START + timedelta(days=8))
    (done,) = [d for d in decisions(database_url, "handoff") if d["id"] == quiet]
    assert (
        done["outcome"]["came_back_within_7_days"] is False and done["outcome"]["handed_over_later"] is False
    )
    assert done["outcome"]["case_id"] is None and done["outcome_final"] in (True, 1)
    (pending,) = decisions(database_url, "retention_offer")
    assert pending["outcome"] == {"accepted": True, "cancelled_within_30_days": None}
    assert pending["outcome_final"] in (False, 0)

    execute(database_url, "UPDATE customers SET status = 'cancelled' WHERE id = :c", c=customer)
    run_job(database_url, START + timedelta(days=20))
    run_job(database_url, START + timedelta(days=31))
    (final,) = decisions(database_url, "retention_offer")
    assert final["id"] == offer and final["outcome"]["cancelled_within_30_days"] is True
    assert final["outcome_final"] in (True, 1) and reply


def test_batches_take_never_joined_decisions_first_so_none_starves(database_url):
    customer = customer_id(database_url)
    insert(database_url, Conversation(id="conv-n", customer_id=customer, started_at=START))
    (asked,) = insert(database_url, message("conv-n", "order_status", 0))
    ids = insert(
        database_url, *(handoff_decision("conv-n", customer, asked, "continue", i) for i in range(3))
    )
    now = START + timedelta(hours=1)

    async def batches(session):
        first = await join_outcomes(session, now, batch=2, fresh_for=timedelta(minutes=5))
        second = await join_outcomes(session, now, batch=2, fresh_for=timedelta(minutes=5))
        third = await join_outcomes(session, now, batch=2, fresh_for=timedelta(minutes=5))
        return first, second, third

    async def run():
        engine = create_async_engine(to_async_url(database_url))
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                return await batches(session)
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == (2, 1, 0)  # the third decision's turn came; fresh ones wait
    assert all(d["outcome"] is not None for d in decisions(database_url, "handoff") if d["id"] in ids)
