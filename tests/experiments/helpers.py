"""Shared steps of the experiments tests: an admin starts an experiment; customers ask to cancel."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient

from backend.auth.tokens import customer_hash
from backend.core.database import make_engine, make_sessionmaker
from backend.experiments.outcomes import join_outcomes
from tests.app_fixtures import SERVICE_HEADERS, staff_headers
from tests.dbcheck import rows

ADMIN = "admin@northwind.example"
RETENTION = {
    "key": "retention-offers",
    "name": "Retention offers vs none",
    "unit": "customer",
    "variants": [
        {"name": "control", "weight": 1},
        {"name": "discount_3m", "weight": 1},
        {"name": "free_month", "weight": 1},
    ],
    "primary_outcome": "still_subscribed_30d",
    "guardrails": ["handed_over_7d"],
    "baseline_rate": 0.6,
    "minimum_effect": 0.1,
}


def start_experiment(client: TestClient, plan: dict[str, Any]) -> dict[str, Any]:
    admin = staff_headers(client, ADMIN)
    created = client.post("/api/experiments", json=plan, headers=admin)
    assert created.status_code == 201, created.text
    started = client.post(f"/api/experiments/{plan['key']}/start", headers=admin)
    assert started.status_code == 200, started.text
    return started.json()


def customers(database_url: str, limit: int) -> list[dict[str, Any]]:
    return rows(
        database_url,
        "SELECT id, email, marketing_consent FROM customers WHERE email LIKE '%@example.com' ORDER BY id "
        "LIMIT :n",
        n=limit,
    )


def open_widget(http: httpx.Client, email: str, identity_secret: str) -> str:
    """A widget session of the signed-in customer `email` (the host site's signature); its conversation id."""
    signature = customer_hash(email, identity_secret)
    session = http.post("/api/v1/widget/sessions", json={"customer_email": email, "customer_hash": signature})
    assert session.status_code == 201, session.text
    return str(session.json()["conversation_id"])


def admin_results(http: httpx.Client, key: str) -> dict[str, Any]:
    """The experiment's results as the API gives them to an admin."""
    response = http.get(f"/api/experiments/{key}/results", headers=staff_headers(http, ADMIN))
    assert response.status_code == 200, response.text
    return response.json()


def ask_to_cancel(client: TestClient, email: str) -> dict[str, Any]:
    """A signed-in customer's widget session, then the bot's retention-offer call for it."""
    conversation = open_widget(client, email, client.app.state.settings.identity_secret)
    answer = client.post(
        f"/api/v1/service/conversations/{conversation}/retention-offer", headers=SERVICE_HEADERS
    )
    assert answer.status_code == 200, answer.text
    return answer.json() | {"conversation_id": conversation}


def join(database_url: str, now: datetime | None = None) -> int:
    async def run() -> int:
        from backend.core.config import to_async_url

        engine = make_engine(to_async_url(database_url))
        try:
            async with make_sessionmaker(engine)() as session:
                return await join_outcomes(session, now)
        finally:
            await engine.dispose()

    return asyncio.run(run())
