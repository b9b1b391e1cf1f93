"""The serving versions a scored turn reads (`registry.serving`): the versions the registry's own queries
pick, read as plain values, not ORM objects in the turn's session."""

import asyncio
from dataclasses import fields
from pathlib import Path

from backend.core.database import make_engine, make_sessionmaker
from backend.risk import challenger, registry
from tests.conftest import copy_sqlite
from tests.risk.conftest import InstalledModels


async def _read(database: Path) -> tuple[registry.Serving, dict[str, object], int]:
    engine = make_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with make_sessionmaker(engine)() as session:
            serving = await registry.serving(session)
            loaded = len(session.identity_map)
            picked = {
                "churn": await registry.production(session, "churn"),
                "escalation": await registry.production(session, "escalation"),
                "challenger": await challenger.current(session, "escalation"),
            }
        return serving, picked, loaded
    finally:
        await engine.dispose()


def _fields(version: object) -> dict[str, object] | None:
    if version is None:
        return None
    return {field.name: getattr(version, field.name) for field in fields(registry.ServedVersion)}


def test_serving_reads_the_versions_the_registry_picks_without_loading_orm_objects(
    installed_models: InstalledModels, tmp_path: Path
) -> None:
    database = tmp_path / "serving.db"
    copy_sqlite(installed_models.database, database)
    serving, picked, loaded = asyncio.run(_read(database))
    assert loaded == 0
    assert _fields(serving.production("churn")) == _fields(picked["churn"])
    assert _fields(serving.production("escalation")) == _fields(picked["escalation"])
    assert serving.production("churn").id == installed_models.ids["churn"]
    assert _fields(serving.challenger("escalation")) == _fields(picked["challenger"]) is None
