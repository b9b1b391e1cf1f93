"""The demo's past leads: scored and logged at their time, outcomes from the simulator (won or lost once
old enough), the customers' real CRM facts, and the same leads for the same seed."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta

from backend.core.config import Settings, to_async_url
from backend.core.database import make_engine, make_sessionmaker
from backend.leads.seeding import FOLLOW_UP_DAYS, PAST_LEADS, seed_past_leads
from tests.dbcheck import rows

END = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def when(value: datetime | str) -> datetime:
    """A timestamp as read back: SQLite gives text, PostgreSQL a datetime."""
    found = datetime.fromisoformat(value) if isinstance(value, str) else value
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def seed(database_url: str, tmp_path) -> int:
    settings = Settings(database_url=database_url, lead_model_path=tmp_path / "none.joblib")

    async def run() -> int:
        engine = make_engine(to_async_url(database_url))
        try:
            async with make_sessionmaker(engine)() as session:
                written = await seed_past_leads(session, random.Random(3), END, 6, settings)
                await session.commit()
                return written
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_past_leads_have_simulated_outcomes_and_logged_scores(database_url, tmp_path):
    assert seed(database_url, tmp_path) == PAST_LEADS
    leads = rows(database_url, "SELECT * FROM leads ORDER BY id")
    assert len(leads) == PAST_LEADS and all(lead["conversation_id"] is None for lead in leads)
    for lead in leads:
        created = when(lead["created_at"])
        assert END - timedelta(weeks=6) <= created < END
        if END - created >= timedelta(days=FOLLOW_UP_DAYS) and lead["status"] in ("won", "lost"):
            assert lead["outcome_at"] is not None
        if lead["status"] in ("new", "contacted"):
            assert lead["outcome_at"] is None
    outcomes = [lead["status"] for lead in leads if lead["status"] in ("won", "lost")]
    assert len(outcomes) > PAST_LEADS // 2 and 0 < outcomes.count("won") < len(outcomes)
    assert any(lead["customer_id"] is None for lead in leads) and any(lead["customer_id"] for lead in leads)
    logged = rows(database_url, "SELECT * FROM decisions WHERE kind = 'lead' ORDER BY id")
    assert sorted(d["id"] for d in logged) == sorted(lead["decision_id"] for lead in leads)
    inputs = [json.loads(d["inputs"]) if isinstance(d["inputs"], str) else d["inputs"] for d in logged]
    assert all(i["seeded"] and "features" in i for i in inputs)
    assert {lead["model_version"] for lead in leads} == {"lead rules v1"}  # no model served in this test
