"""Migration 0014 creates exactly what the lead model declares (SQLite and PostgreSQL), and downgrades."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from backend.core.config import to_sync_url
from backend.models import Base
from scripts.paths import ROOT


def test_the_leads_table_matches_the_model_and_downgrades(database_url: str) -> None:
    engine = create_engine(to_sync_url(database_url))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diff if "leads" in repr(d)] == []

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = to_sync_url(database_url)
    command.downgrade(config, "0013_csat_answers")
    assert "leads" not in inspect(engine).get_table_names()
    command.upgrade(config, "head")
    assert "leads" in inspect(engine).get_table_names()
    engine.dispose()
