"""Migration 0006 creates exactly what the analytics models declare, and downgrades cleanly."""

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from backend.models import Base
from scripts.paths import ROOT
from tests.conftest import migrate


@pytest.mark.integration  # migrates a database of its own
def test_analytics_tables_match_the_models_and_downgrade(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    names = ("analytics_buckets", "ix_conversations_status_last_message")
    mine = [d for d in diff if any(name in repr(d) for name in names)]
    assert mine == []
    indexes = {i["name"] for i in inspect(engine).get_indexes("conversations")}
    assert "ix_conversations_status_last_message" in indexes

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    command.downgrade(config, "0005_citations")
    assert "analytics_buckets" not in inspect(engine).get_table_names()
    engine.dispose()
