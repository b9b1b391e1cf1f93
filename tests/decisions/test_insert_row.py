"""`insert_row` (the message path's Core INSERT) stores exactly the row `record` (an ORM object) stores:
the same values and the same SQL NULLs (a JSON column given None by a Core INSERT holds the JSON `null`)."""

import asyncio
from datetime import timedelta

from backend.core.config import to_async_url
from backend.core.database import make_engine, make_sessionmaker, utcnow
from backend.decisions import service
from tests.dbcheck import rows

AT = utcnow() - timedelta(minutes=5)
SPARSE = service.Fields(action="continue", version="rules", latency_ms=1.23456, at=AT)
FULL = service.Fields(
    action="handoff",
    version="learnt@v1",
    inputs={"features": {"negative_now": 1.0}, "bot_handed_over": False},
    scores={"handoff_probability": 0.8},
    score=0.8,
    threshold=0.5,
    reasons=["two dissatisfied messages in a row"],
    fallback="learnt@v1 missed its 50 ms deadline",
    at=AT,
)
NULL_CHECKS = ", ".join(
    f"{column} IS NULL AS {column}_is_null" for column in ("outcome", "score", "fallback", "conversation_id")
)


async def write_both(database_url: str, fields: service.Fields) -> None:
    engine = make_engine(to_async_url(database_url))
    try:
        async with make_sessionmaker(engine)() as session:
            service.record(session, "handoff", **fields)
            await session.commit()
            await service.insert_row(session, "handoff", **fields)
            await session.commit()
    finally:
        await engine.dispose()


def test_insert_row_stores_what_record_stores(database_url: str) -> None:
    for fields in (SPARSE, FULL):
        asyncio.run(write_both(database_url, fields))
        recorded, inserted = rows(
            database_url, f"SELECT *, {NULL_CHECKS} FROM decisions ORDER BY id DESC LIMIT 2"
        )[::-1]
        assert recorded.pop("id") < inserted.pop("id")
        assert inserted == recorded
        assert recorded["outcome_is_null"] and recorded["conversation_id_is_null"]
        assert recorded["score_is_null"] == (fields is SPARSE)
