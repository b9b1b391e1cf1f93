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
from backend.leads.models import Lead
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


def lead_decision(conversation: str | None, customer: int | None, days: float = 0) -> Decision:
    return Decision(
        kind="lead", action="list", version="lead rules v1", conversation_id=conversation,
        customer_id=customer, score=0.4, created_at=START + timedelta(days=days),
    )  # fmt: skip


def a_lead(decision: int, conversation: str | None, status: str, decided_days: float | None) -> Lead:
    return Lead(
        conversation_id=conversation, source_intent="sales_inquiry", interest="team_plan", score=0.4,
        rules_score=0.4, model_version="lead rules v1", decision_id=decision, status=status,
        created_at=START, outcome_at=None if decided_days is None else START + timedelta(days=decided_days),
    )  # fmt: skip


def test_a_lead_decision_learns_whether_the_lead_converted_from_its_status(database_url):
    customer = customer_id(database_url)
    insert(
        database_url,
        *(Conversation(id=f"conv-l{i}", customer_id=customer, started_at=START) for i in range(3)),
    )
    won, lost, still_open, seeded, late = insert(
        database_url,
        lead_decision("conv-l0", customer),
        lead_decision("conv-l1", customer),
        lead_decision("conv-l2", customer),
        lead_decision(None, None),  # a seeded past lead: no conversation, found by its decision
        lead_decision(None, customer),
    )
    insert(
        database_url,
        a_lead(won, "conv-l0", "won", 10),
        a_lead(lost, "conv-l1", "lost", 3),
        a_lead(still_open, "conv-l2", "contacted", None),
        a_lead(seeded, None, "new", None),
        a_lead(late, None, "won", 120),  # won, but after the 90 days the outcome looks at
    )

    run_job(database_url, START + timedelta(days=5))
    by_id = {d["id"]: d for d in decisions(database_url, "lead")}
    # Lost within the window: known, and final at once (a lost lead stays lost).
    assert by_id[lost]["outcome"]["converted_within_90_days"] is False
    assert by_id[lost]["outcome"]["lead_status"] == "lost" and by_id[lost]["outcome_final"] in (True, 1)
    # The lead won on day 10 is not won yet on day 5 (its outcome time is later): unknown, still pending;
    # so is the one won after the window.
    assert by_id[won]["outcome"]["converted_within_90_days"] is None
    assert by_id[won]["outcome_final"] in (False, 0) and by_id[late]["outcome_final"] in (False, 0)
    assert by_id[seeded]["outcome"] == {"lead_id": by_id[seeded]["outcome"]["lead_id"], "lead_status": "new",
                                        "converted_within_90_days": None}  # fmt: skip
    assert by_id[seeded]["outcome"]["lead_id"] is not None

    run_job(database_url, START + timedelta(days=30))
    by_id = {d["id"]: d for d in decisions(database_url, "lead")}
    assert by_id[won]["outcome"]["converted_within_90_days"] is True
    assert by_id[won]["outcome_final"] in (True, 1)
    assert by_id[still_open]["outcome"]["converted_within_90_days"] is None
    assert by_id[still_open]["outcome_final"] in (False, 0)

    run_job(database_url, START + timedelta(days=91))
    by_id = {d["id"]: d for d in decisions(database_url, "lead")}
    # Open when the window ended: not converted in it, and final like any other decision at its window's end.
    for pending in (still_open, seeded):
        assert by_id[pending]["outcome"]["converted_within_90_days"] is False
        assert by_id[pending]["outcome_final"] in (True, 1)
    assert by_id[late]["outcome"]["converted_within_90_days"] is False
    assert by_id[late]["outcome"]["lead_status"] == "won"


def test_a_pending_outcome_is_read_again_later_the_older_it_is_and_last_at_its_windows_end(database_url):
    customer = customer_id(database_url)
    insert(database_url, Conversation(id="conv-o", customer_id=customer, started_at=START))
    (asked,) = insert(database_url, message("conv-o", "order_status", 0))
    insert(database_url, handoff_decision("conv-o", customer, asked, "continue", 0))
    day, hour = timedelta(days=1), timedelta(hours=1)

    assert run_job(database_url, START + 2 * day) == 1  # two days old: due again in an eighth of that
    assert run_job(database_url, START + 2 * day + 5 * hour) == 0
    assert run_job(database_url, START + 2 * day + 6 * hour) == 1
    (pending,) = decisions(database_url, "handoff")
    assert pending["outcome_final"] in (False, 0)
    # Near the window's end the next read is the window's end itself, not an eighth of a week later.
    assert run_job(database_url, START + 7 * day - hour) == 1
    assert run_job(database_url, START + 7 * day - timedelta(minutes=1)) == 0
    assert run_job(database_url, START + 7 * day) == 1
    (final,) = decisions(database_url, "handoff")
    assert final["outcome_final"] in (True, 1) and final["outcome"]["came_back_within_7_days"] is False
    assert run_job(database_url, START + 30 * day) == 0
