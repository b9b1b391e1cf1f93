"""Property-based API test: schemathesis generates requests from the live OpenAPI schema (valid and invalid
bodies, parameters and headers) and sends them in-process to the app on a seeded database, signed in as
the audience each operation declares. Every answer must be no 5xx, a status code the operation documents
and a body that matches the documented schema.

A second run puts strings no database stores alike into every generated request: a NUL or a lone surrogate
in one string of the body (Hypothesis never draws a surrogate on its own), a NUL in a path or query
parameter. Same checks: a 422 naming the problem (backend/core/text.py) is fine, a 5xx is not.

Bounded and seeded (derandomized Hypothesis) so CI runs the same examples each time, in a few minutes.
"""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from backend.agents.models import Agent
from backend.auth.tokens import issue_staff_token
from backend.core.config import Settings
from backend.main import create_app
from tests.app_fixtures import SERVICE_HEADERS, ScriptedRasa
from tests.risk.helpers import churn_models, escalation_model, install
from tests.security.conftest import STAFF, security_settings

# An app on a copy of the session's seeded database made here (security_settings), not through
# `database_url`, so the kind is said here; fuzzing every operation is slow, so make test-fast leaves it to
# make test.
pytestmark = [pytest.mark.integration, pytest.mark.slow]

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
def api(
    tmp_path_factory: pytest.TempPathFactory, seeded_sqlite: Path, seeded_kb_index: Path
) -> Iterator[dict[str, Any]]:
    # Rate limits off here: a fuzzer sends far more than a customer would; tests/security/test_rate_limits.py
    # covers the 429s.
    settings_ = security_settings(
        tmp_path_factory.mktemp("fuzz"), seeded_sqlite, seeded_kb_index, rate_limits_enabled=False
    )
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
    call_and_check(case, api)


def call_and_check(case: schemathesis.Case, api: dict[str, Any]) -> None:
    """Send the case as the audience its operation declares; no 5xx, documented status and body."""
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


# ----- the same operations with bad strings in them -------------------------------------------------------

POISONED_EXAMPLES = 8
# JSON carries lone surrogates as \uXXXX escapes; a URL or a form cannot carry one at all (it is not UTF-8).
JSON_BAD = ("\x00", "nul \x00 inside", "\ud800", "low \udfff alone", "reversed \ude00\ud83d")
URL_BAD = ("\x00", "nul \x00 inside")
poisoned = schemathesis.openapi.from_dict(LIVE_SCHEMA, config=CONFIG)


def string_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where `value` holds strings: a path of keys and indexes to each."""
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in string_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in string_paths(item, (*path, index))]
    return []


def replaced(value: Any, path: tuple[Any, ...], bad: str) -> Any:
    if not path:
        return bad
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], bad)
    return copy


def poison(value: Any, bad: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """`value` with one of its strings replaced by (or, for a lone one, made into) one of `bad`."""
    paths = string_paths(value)
    if not paths:
        return st.just(value)
    return st.tuples(st.sampled_from(paths), st.sampled_from(bad)).map(lambda pb: replaced(value, *pb))


@poisoned.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    content = context.operation.definition.raw.get("requestBody", {}).get("content", {})
    return poison(body, JSON_BAD if "application/json" in content else URL_BAD)


@poisoned.hook
def flatmap_query(context: Any, query: Any) -> st.SearchStrategy[Any]:
    return poison(query, URL_BAD)


@poisoned.hook
def flatmap_path_parameters(context: Any, path_parameters: Any) -> st.SearchStrategy[Any]:
    return poison(path_parameters, URL_BAD)


@poisoned.parametrize()
@settings(
    max_examples=POISONED_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_answers_bad_strings_without_a_server_error(case: schemathesis.Case, api: dict[str, Any]) -> None:
    call_and_check(case, api)
