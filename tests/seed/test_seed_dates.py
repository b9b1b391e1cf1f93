"""The demo company's dates (backend/seed.py): fixed for tests and evaluations; from today for `make run`,
with orders dated by their status and nothing but dates different from the fixed data."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from backend.customers.models import Customer, Order
from backend.seed import NOW, SeedDates, seed
from tests.conftest import migrate

TODAY = datetime(2027, 3, 10, 9, 30, tzinfo=UTC)  # a day far from the fixed one, so a leftover shows


def seeded(tmp_path: Path, name: str, dates: SeedDates) -> tuple[list[Order], list[Customer]]:
    url = f"sqlite:///{tmp_path / name}.db"
    migrate(url)
    engine = create_engine(url)
    with Session(engine) as session:
        seed(session, 60, random.Random(7), dates)
        orders = list(session.scalars(select(Order).order_by(Order.order_number)))
        customers = list(session.scalars(select(Customer).order_by(Customer.external_ref)))
        session.expunge_all()
    engine.dispose()
    return orders, customers


def undated(order: Order) -> dict[str, Any]:
    return {
        "number": order.order_number,
        "status": order.status,
        "carrier": order.carrier,
        "tracking": order.tracking_number,
        "total": order.total,
        "items": order.items,
        "delivery_days": (order.estimated_delivery - order.placed_at.date()).days
        if order.estimated_delivery
        else None,
    }


def test_dated_from_today_only_the_dates_differ_from_the_fixed_data(tmp_path: Path):
    fixed, fixed_people = seeded(tmp_path, "fixed", SeedDates())
    live, live_people = seeded(tmp_path, "live", SeedDates(TODAY, by_status=True))
    assert [undated(o) for o in live] == [undated(o) for o in fixed]
    people = [(c.name, c.plan, c.email) for c in fixed_people]
    assert [(c.name, c.plan, c.email) for c in live_people] == people
    assert all(o.placed_at <= TODAY for o in live)
    in_flight = [o for o in live if o.status in ("processing", "shipped", "delayed")]
    assert in_flight and all(o.placed_at > NOW for o in in_flight)


def test_from_today_a_shipped_order_is_recent_and_a_delayed_one_past_its_date(tmp_path: Path):
    orders, _ = seeded(tmp_path, "live", SeedDates(TODAY, by_status=True))
    by_status: dict[str, list[Order]] = {}
    for order in orders:
        by_status.setdefault(order.status, []).append(order)
    assert {"processing", "shipped", "delayed", "delivered"} <= set(by_status)
    assert all(TODAY - o.placed_at < timedelta(days=1) for o in by_status["processing"])
    assert all(TODAY - o.placed_at < timedelta(days=7) for o in by_status["shipped"])
    assert all(o.estimated_delivery < TODAY.date() for o in by_status["delayed"])
    # Some shipped orders are still due (the point of dating by status: not every order reads as late).
    assert any(o.estimated_delivery >= TODAY.date() for o in by_status["shipped"])


def test_the_fixed_dates_are_what_tests_and_evaluations_have_always_seen(tmp_path: Path):
    orders, _ = seeded(tmp_path, "fixed", SeedDates())
    assert all(NOW - timedelta(days=61) <= o.placed_at <= NOW for o in orders)
    [first] = [o for o in orders if o.order_number == "ORD-100001"]
    assert first.status == "shipped" and first.placed_at < NOW - timedelta(days=5)
