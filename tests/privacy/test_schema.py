"""The SQLAlchemy models and the Alembic migrations describe the same schema, on SQLite and PostgreSQL, and
the privacy migration goes down and up again."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from backend.core.config import to_sync_url
from backend.models import Base
from scripts.paths import ROOT


def differences(database_url: str) -> list[object]:
    engine = create_engine(to_sync_url(database_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_models_match_the_migrations(database_url):
    assert differences(database_url) == []


def test_the_privacy_migration_downgrades_and_upgrades(database_url):
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = to_sync_url(database_url)
    command.downgrade(config, "0006_analytics")
    command.upgrade(config, "head")
    assert differences(database_url) == []
