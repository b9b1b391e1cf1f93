"""Reading the database directly in tests, to check what was really stored (not what the API says)."""

from typing import Any

from sqlalchemy import create_engine, text

from backend.core.config import to_sync_url


def rows(database_url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    engine = create_engine(to_sync_url(database_url))
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def execute(database_url: str, sql: str, **params: Any) -> None:
    """Change the database directly (committed), for setting up a situation."""
    engine = create_engine(to_sync_url(database_url))
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()
