"""Property-based API test: schemathesis generates requests from the live OpenAPI schema (valid and invalid
bodies, parameters and headers) and sends them in-process to the app on a seeded database, signed in as
the audience each operation declares. Every answer must be no 5xx, a status code the operation documents
and a body that matches the documented schema.

Bounded and seeded (derandomized Hypothesis) so CI runs the same examples each time, in a few minutes.
"""

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from backend.agents.models import Agent
from backend.auth.tokens import issue_staff_token
from backend.config import Settings
from backend.main import create_app
from tests.integration.conftest import SERVICE_HEADERS, ScriptedRasa
from tests.risk.helpers import churn_models, escalation_model, install
from tests.security.conftest import STAFF, security_settings

MAX_EXAMPLES = 20
# Rebuilding the knowledge index re-embeds every article: seconds on a busy CI machine, not a hang.
REQUEST_TIMEOUT_S = 120
BASE_URL = "http://testserver"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def staff_token(database_url: str, email: str, secret: str) -> str:
    engine = create_engine(database_url)
    with Session(engine) as session:
        agent = session.scalars(select(Agent).where(Agent.email == email)).one()
        token = issue_staff_token(agent.id, agent.role, secret, 3600)
    engine.dispose()
    return token


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    # Rate limits off here: a fuzzer sends far more than a customer would; tests/security/test_rate_limits.py
    # covers the 429s.
    settings_ = security_settings(tmp_path_factory.mktemp("fuzz"), rate_limits_enabled=False)
    # Production risk models as bootstrap leaves them, and a spare candidate: scoring, drift, promotion
    # and rollback run for real instead of answering "no model yet" (a 503).
    full, weak = churn_models()
    for trained, promote in ((full, True), (escalation_model(), True), (weak, False)):
        asyncio.run(install(settings_.database_url, trained, settings_.risk_model_dir, promote=promote))
    app = create_app(settings_, rasa_transport=httpx.MockTransport(ScriptedRasa().handle))
    with asgi.get_client(app) as client:  # in-process; the app's lifespan runs until the module ends
        widget = client.post(f"{BASE_URL}/api/v1/widget/sessions", json={}).json()
        secret, url = settings_.secret_key, settings_.sync_database_url
        tokens = {role: staff_token(url, email, secret) for role, email in STAFF.items()}
        staff = {role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()}
        yield {
            "client": client,
            "conversation": widget["conversation_id"],
            "headers": {
                "public": {},
                "widget": {"Authorization": f"Bearer {widget['token']}"},
                "service": dict(SERVICE_HEADERS),
                **staff,
            },
        }
    asgi.shutdown_lifespans()


# The schema of the app as built (it needs no database); requests go to the fixture's app on a real one.
# The coverage phase (every boundary case of every field, unbounded by max_examples) is left to manual
# runs: `st run` against a dev server. Here Hypothesis draws MAX_EXAMPLES valid and invalid requests each.
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
LIVE_SCHEMA = create_app(Settings(database_url="sqlite://")).openapi()
schema = schemathesis.openapi.from_dict(LIVE_SCHEMA, config=CONFIG)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_answers_as_documented(case: schemathesis.Case, api: dict[str, Any]) -> None:
    audience = case.operation.definition.raw.get("x-audience", "public")
    if "conversation_id" in (case.path_parameters or {}):
        # The widget token is bound to this conversation; generated ids would only ever meet the 403.
        case.path_parameters["conversation_id"] = api["conversation"]
    case.call_and_validate(
        base_url=BASE_URL,
        session=api["client"],
        headers=api["headers"][audience],
        checks=CHECKS,
        timeout=REQUEST_TIMEOUT_S,
    )
