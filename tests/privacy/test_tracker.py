"""Deleting trackers from a Rasa SQL tracker store laid out as Rasa creates it, SQLite and PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from backend.core.config import to_sync_url
from backend.privacy.tracker import TrackerStoreUnavailable, delete_events
from tests.conftest import create_pg_database, drop_pg_database
from tests.dbcheck import rows

# rasa.core.tracker_store.SQLTrackerStore.SQLEvent (Rasa 3.6)
EVENTS = (
    "CREATE TABLE events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) "
    "NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
)

# Tracker stores in real databases, made here rather than by tests/conftest.py's fixtures.
pytestmark = pytest.mark.integration


def fill(url: str) -> None:
    engine = create_engine(to_sync_url(url))
    with engine.begin() as connection:
        connection.execute(text(EVENTS.replace("SERIAL", "INTEGER") if url.startswith("sqlite") else EVENTS))
        for sender in ("erase-me", "erase-me", "keep-me"):
            connection.execute(
                text("INSERT INTO events (sender_id, type_name, data) VALUES (:s, 'user', '{}')"),
                {"s": sender},
            )
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tracker.db'}"
        fill(url)
        yield url
        return
    admin = request.getfixturevalue("postgres_server")
    url = create_pg_database(admin)
    try:
        fill(url)
        yield url
    finally:
        drop_pg_database(admin, url)


def test_only_the_named_senders_lose_their_events(store: str):
    assert delete_events(to_sync_url(store), ["erase-me", "never-talked"]) == 2
    assert rows(store, "SELECT sender_id FROM events") == [{"sender_id": "keep-me"}]
    assert delete_events(to_sync_url(store), ["erase-me"]) == 0  # again: nothing left, no error


def test_a_missing_store_is_reported_not_created(tmp_path: Path):
    missing = tmp_path / "not-there.db"
    with pytest.raises(TrackerStoreUnavailable, match="does not exist"):
        delete_events(f"sqlite:///{missing}", ["x"])
    assert not missing.exists()
    with pytest.raises(TrackerStoreUnavailable, match="refused"):
        delete_events("postgresql+psycopg://postgres@127.0.0.1:5432/no_such_database_here", ["x"])
