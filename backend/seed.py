"""Seeds a demo company, Northwind Goods: customers with orders, support agents and knowledge articles.

Deterministic for a given --seed, so tests and screenshots see the same data. Idempotent: a database that
already has customers is left alone. Run: python -m backend.seed [--customers 200] [--seed 7]
[--history-weeks 6] (weeks of past conversations, cases, feedback and outcomes: backend/seed_history.py)
[--dates fixed|today].

The demo shopper is demo@northwind.example; their first order is ORD-100001 (shipped).

Dates: by default the company's "today" is fixed (2026-11-01), so tests and evaluations see the same orders
whatever day they run. `--dates today` (what `make run` seeds) dates it from the day it is seeded, orders by
their status as in a live shop (processing since today, shipped within the week, delayed past their date),
drawing the same random values, so only dates differ from the fixed data.

Staff sign in with their email (alex@, priya@, ... jordan@ supervisor, admin@northwind.example) and the demo
password below; change it (or remove the demo staff) before real use.
"""

import argparse
import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache

from sqlalchemy import create_engine, func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from backend.agents.models import Agent
from backend.auth.passwords import hash_password
from backend.core.config import get_settings
from backend.customers.models import Customer, Order
from backend.kb.models import Article, ArticleVersion
from backend.seed_articles import ARTICLES
from backend.seed_history import HistoryReport, seed_history

FIRST = [
    "Ava",
    "Liam",
    "Maya",
    "Noah",
    "Zoe",
    "Omar",
    "Iris",
    "Theo",
    "Lena",
    "Ravi",
    "Sara",
    "Jonas",
    "Mei",
    "Ines",
]
LAST = [
    "Patel",
    "Garcia",
    "Kim",
    "Novak",
    "Okafor",
    "Silva",
    "Larsen",
    "Haddad",
    "Rossi",
    "Nguyen",
    "Weber",
    "Cohen",
]
PRODUCTS = [
    ("Trailhead Backpack 30L", Decimal("129.00")),
    ("AeroPress Go", Decimal("39.95")),
    ("Summit Down Jacket", Decimal("249.00")),
    ("Ridge Trail Shoes", Decimal("139.00")),
    ("Basecamp Tent 2P", Decimal("329.00")),
    ("Insulated Bottle 1L", Decimal("34.00")),
    ("Merino Base Layer", Decimal("79.00")),
    ("Headlamp 400", Decimal("45.00")),
]
PLANS = {"basic": Decimal("4.99"), "plus": Decimal("14.99"), "pro": Decimal("29.99")}
CONTRACTS = ["month-to-month", "one-year", "two-year"]
CARRIERS = ["UPS", "DHL", "FedEx", "USPS"]
AGENTS = [
    ("Alex Morgan", "alex@northwind.example", "agent", "care", {"general": 4, "billing": 3}),
    ("Priya Shah", "priya@northwind.example", "agent", "care", {"technical": 5, "general": 3}),
    ("Diego Ruiz", "diego@northwind.example", "agent", "care", {"billing": 5, "retention": 3}),
    ("Hanna Berg", "hanna@northwind.example", "agent", "growth", {"retention": 5, "sales": 4}),
    ("Sam Lee", "sam@northwind.example", "agent", "growth", {"sales": 4, "general": 2}),
    (
        "Jordan Blake",
        "jordan@northwind.example",
        "supervisor",
        "care",
        {"general": 5, "billing": 4, "technical": 3},
    ),
    ("Riley Admin", "admin@northwind.example", "admin", None, {}),
]
DEMO_PASSWORD = "northwind-demo"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # fixed "today" of the demo data, so runs are reproducible


@dataclass(frozen=True)
class SeedDates:
    """The day the company is seeded as of, and whether orders are dated by their status (see above)."""

    today: datetime = NOW
    by_status: bool = False


def seed(session: Session, customers: int, rng: random.Random, dates: SeedDates = SeedDates()) -> bool:
    if session.scalar(select(func.count(Customer.id))):
        return False
    session.add_all(_agents())
    people = [_demo_customer()] + [_customer(i, rng, dates.today) for i in range(1, customers)]
    session.add_all(people)
    session.flush()
    number = 100001
    for person in people:
        for _ in range(3 if person.email.startswith("demo@") else rng.randint(0, 4)):
            session.add(_order(number, person, rng, dates, first=number == 100001))
            number += 1
    articles = [
        Article(slug=slug, title=title, body=body, tags=tags, status="published", author="seed")
        for slug, title, tags, body in ARTICLES
    ]
    session.add_all(articles)
    session.flush()
    session.add_all(_first_version(a) for a in articles)
    session.commit()
    return True


def _agents() -> list[Agent]:
    password_hash = _demo_password_hash()
    return [
        Agent(
            name=n,
            email=e,
            role=r,
            team=t,
            skills=s,
            max_concurrent_cases=3 if r == "agent" else 2,
            password_hash=password_hash,
        )
        for n, e, r, t, s in AGENTS
    ]


@cache
def _demo_password_hash() -> str:
    return hash_password(DEMO_PASSWORD)  # once per process: bcrypt is slow on purpose


def _demo_customer() -> Customer:
    return Customer(
        external_ref="CUST-00000",
        name="Dana Demo",
        email="demo@northwind.example",
        plan="plus",
        contract="month-to-month",
        monthly_charge=PLANS["plus"],
        signup_date=date(2024, 3, 14),
        lifetime_value=Decimal("612.40"),
        marketing_consent=True,
        contact_channels=["chat", "email"],
    )


def _customer(index: int, rng: random.Random, today: datetime) -> Customer:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    plan = rng.choices(list(PLANS), weights=[5, 3, 2])[0]
    signup = (today - timedelta(days=rng.randint(10, 1500))).date()
    months = max(1, (today.date() - signup).days // 30)
    return Customer(
        external_ref=f"CUST-{index:05d}",
        name=f"{first} {last}",
        email=f"{first}.{last}.{index}@example.com".lower(),
        phone=f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        plan=plan,
        contract=rng.choices(CONTRACTS, weights=[6, 3, 2])[0],
        monthly_charge=PLANS[plan],
        signup_date=signup,
        lifetime_value=PLANS[plan] * months + Decimal(rng.randint(0, 900)),
        payment_failures_90d=rng.choices([0, 1, 2, 3], weights=[80, 12, 5, 3])[0],
        last_activity_at=today - timedelta(days=rng.randint(0, 120)),
        status="active",
        # Consent from the index, not the generator: drawing from rng would change every later seeded value.
        marketing_consent=index % 10 < 7,
        contact_channels=["chat", "email"] if index % 10 < 7 else [],
    )


def _order(number: int, customer: Customer, rng: random.Random, dates: SeedDates, first: bool) -> Order:
    days, hours = rng.randint(1, 60), rng.randint(0, 23)
    status = (
        "shipped"
        if first
        else rng.choices(
            ["processing", "shipped", "delayed", "delivered", "cancelled", "returned"],
            weights=[2, 3, 1, 8, 1, 1],
        )[0]
    )
    placed = dates.today - _age(status, days, hours, dates.by_status)
    items = [
        {"product": p, "quantity": rng.randint(1, 2)} for p, _ in rng.sample(PRODUCTS, rng.randint(1, 3))
    ]
    total = sum((dict(PRODUCTS)[i["product"]] * i["quantity"] for i in items), Decimal("0"))
    shipped = status in ("shipped", "delayed", "delivered", "returned")
    return Order(
        order_number=f"ORD-{number}",
        customer_id=customer.id,
        status=status,
        carrier=rng.choice(CARRIERS) if shipped else None,
        tracking_number=f"1Z{rng.randint(10**9, 10**10 - 1)}" if shipped else None,
        total=total,
        items=items,
        placed_at=placed,
        estimated_delivery=(placed + timedelta(days=rng.randint(3, 9))).date()
        if status != "cancelled"
        else None,
    )


def _age(status: str, days: int, hours: int, by_status: bool) -> timedelta:
    """How long ago an order was placed, from the same two draws either way. Dated by status, the estimated
    delivery (3-9 days after placing) is mostly still ahead for a shipped order and passed for a delayed one;
    otherwise any order may be up to 60 days old, whatever its status."""
    if not by_status:
        return timedelta(days=days, hours=hours)
    if status == "processing":
        return timedelta(hours=hours)
    if status == "shipped":
        return timedelta(days=1 + days % 6, hours=hours)
    if status == "delayed":
        return timedelta(days=10 + days % 15, hours=hours)
    return timedelta(days=days, hours=hours)


def _first_version(article: Article) -> ArticleVersion:
    return ArticleVersion(
        article_id=article.id,
        version=1,
        title=article.title,
        body=article.body,
        tags=article.tags,
        status=article.status,
        author=article.author,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--history-weeks",
        type=int,
        default=6,
        help="weeks of past conversations, cases, feedback and outcomes ending now (0: none)",
    )
    parser.add_argument(
        "--dates",
        choices=("fixed", "today"),
        default="fixed",
        help="the company's dates: fixed (2026-11-01, reproducible) or from today, orders dated by status",
    )
    args = parser.parse_args()
    # Now, to the minute: where the history ends (the dashboard's windows, the review queue's day and the
    # segments' 30 and 90 days are counted back from the present, so a history ending at the fixed date would
    # look empty), and the company's "today" when it is dated from today.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    engine = create_engine(get_settings().sync_database_url)
    with Session(engine) as session:
        dates = SeedDates(now, by_status=True) if args.dates == "today" else SeedDates()
        created = seed(session, args.customers, random.Random(args.seed), dates)
    print("seeded the demo company" if created else "database already has data: seed skipped")
    if created and args.history_weeks > 0:
        # Its own generator: the company's seeded values stay what they were before there was a history.
        started = time.perf_counter()
        report = asyncio.run(_history(args.history_weeks, random.Random(args.seed), now))
        seconds = time.perf_counter() - started
        print(f"seeded {args.history_weeks} weeks of history in {seconds:.1f} s: {report}")


async def _history(weeks: int, rng: random.Random, end: datetime) -> HistoryReport:
    settings = get_settings()
    engine = create_async_engine(settings.async_database_url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            return await seed_history(session, rng, end, settings, weeks=weeks)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    main()
