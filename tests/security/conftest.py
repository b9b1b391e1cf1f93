"""One app on one migrated, seeded SQLite database per module, and a caller for each role.

Each database is a copy of the session's seeded SQLite file and each app starts on a copy of the session's
knowledge index of the seeded articles (tests/conftest.py, tests/app_fixtures.py): migrating, seeding and
encoding every article again per module or per test took most of this folder's time and checked nothing more.

Roles: nobody, the widget of conversation A, the widget of another conversation B, the action server's
service token, and staff signed in as agent, supervisor and admin (the seeded demo accounts).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from backend.core.config import Settings
from backend.main import create_app
from tests.app_fixtures import SERVICE_HEADERS, ScriptedRasa, copy_kb_index, staff_headers
from tests.conftest import copy_sqlite

STAFF = {
    "agent": "alex@northwind.example",
    "supervisor": "jordan@northwind.example",
    "admin": "admin@northwind.example",
}


@dataclass(frozen=True)
class Callers:
    """Headers per role, and the conversation the widget A token is bound to."""

    headers: dict[str, dict[str, str]]
    conversation_a: str
    token_a: str
    token_b: str


def security_settings(tmp: Path, seeded_db: Path, kb_index: Path, **overrides: object) -> Settings:
    """Settings on a fresh copy of `seeded_db` (the `seeded_sqlite` fixture) in `tmp`, with a copy of
    `kb_index` (`seeded_kb_index`), which the app checks against the copy's articles at start as it would
    any index."""
    database = tmp / "security.db"
    # Each app gets its own database, as migrating and seeding into a fresh directory gave it before.
    assert not database.exists(), f"{database} is another app's database; give each app its own directory"
    copy_sqlite(seeded_db, database)
    copy_kb_index(kb_index, tmp / "kb_index")
    return Settings(
        database_url=f"sqlite:///{database}",
        kb_index_dir=tmp / "kb_index",
        risk_model_dir=tmp / "risk_models",
        rasa_url="http://rasa.test",
        service_token=SERVICE_HEADERS["X-Service-Token"],
        secret_key="test-secret-key-of-at-least-32-bytes!",
        **overrides,
    )


@pytest.fixture(scope="module")
def app_client(
    tmp_path_factory: pytest.TempPathFactory, seeded_sqlite: Path, seeded_kb_index: Path
) -> Iterator[TestClient]:
    settings = security_settings(tmp_path_factory.mktemp("security"), seeded_sqlite, seeded_kb_index)
    app = create_app(settings, rasa_transport=httpx.MockTransport(ScriptedRasa().handle))
    with TestClient(app) as client:
        yield client


def open_widget(client: TestClient) -> dict[str, str]:
    response = client.post("/api/v1/widget/sessions", json={})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def callers(app_client: TestClient) -> Callers:
    a, b = open_widget(app_client), open_widget(app_client)
    headers = {
        "none": {},
        "widget A": {"Authorization": f"Bearer {a['token']}"},
        "widget B": {"Authorization": f"Bearer {b['token']}"},
        "service": dict(SERVICE_HEADERS),
        **{role: staff_headers(app_client, email) for role, email in STAFF.items()},
    }
    return Callers(headers, a["conversation_id"], a["token"], b["token"])
