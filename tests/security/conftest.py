"""One app on one migrated, seeded SQLite database per module, and a caller for each role.

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
from tests.app_fixtures import SERVICE_HEADERS, ScriptedRasa, staff_headers
from tests.conftest import migrate, seed_demo

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


def security_settings(tmp: Path, **overrides: object) -> Settings:
    url = f"sqlite:///{tmp / 'security.db'}"
    migrate(url)
    seed_demo(url)
    return Settings(
        database_url=url,
        kb_index_dir=tmp / "kb_index",
        risk_model_dir=tmp / "risk_models",
        rasa_url="http://rasa.test",
        service_token=SERVICE_HEADERS["X-Service-Token"],
        secret_key="test-secret-key-of-at-least-32-bytes!",
        **overrides,
    )


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = security_settings(tmp_path_factory.mktemp("security"))
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
