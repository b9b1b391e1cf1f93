"""Every route of the live OpenAPI schema, and every WebSocket route, called as every role: the roles its
declared audience admits get past authorization, every other role is refused with 401 or 403.

The operations come from the app itself, so a route added later is covered without editing this file, and a
route that states no audience fails here with the fix in the message.
"""

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from backend.auth.dependencies import AdminDep
from backend.auth.policy import AUDIENCES, UNDECLARED, route_policies
from backend.auth.sockets import subprotocols
from backend.core.config import Settings
from backend.main import create_app
from tests.security.conftest import Callers

ALLOW = "allowed"
ROLES = ["none", "widget A", "widget B", "service", "agent", "supervisor", "admin"]
STAFF_ROLES = {
    "agent": ["agent", "supervisor", "admin"],
    "supervisor": ["supervisor", "admin"],
    "admin": ["admin"],
}
HOW_TO_DECLARE = (
    "give it an auth dependency (StaffDep, SupervisorDep, AdminDep, require_service, widget_conversation; "
    "on the route or its router) or mark a deliberately open endpoint @public (backend/auth/policy.py)"
)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    audience: str
    spec: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} [{self.audience}]"


def live_operations() -> list[Operation]:
    """The operations of the app's own schema (building it needs no database)."""
    schema = create_app(Settings(database_url="sqlite://")).openapi()
    return [
        Operation(method, path, spec.get("x-audience", UNDECLARED), spec)
        for path, item in schema["paths"].items()
        for method, spec in item.items()
    ]


OPERATIONS = live_operations()
WEBSOCKETS = [p for p in route_policies(create_app(Settings(database_url="sqlite://"))) if p.websocket]


def expected(audience: str, role: str) -> str | int:
    """What `role` should get from a route for `audience`: past authorization, 401 or 403."""
    if audience == "public":
        return ALLOW
    if audience == "widget":
        return {"widget A": ALLOW, "widget B": 403}.get(role, 401)
    if audience == "service":
        return ALLOW if role == "service" else 401
    if role in STAFF_ROLES["agent"]:
        return ALLOW if role in STAFF_ROLES[audience] else 403
    return 401


def url_for(operation: Operation, conversation_a: str) -> str:
    """The path with each parameter filled: conversation A for conversation ids, a record that does not
    exist for the others (an admitted caller then gets 404 or 422, never a change to real data)."""
    values = {}
    for parameter in operation.spec.get("parameters", []):
        if parameter["in"] != "path":
            continue
        name, kind = parameter["name"], parameter.get("schema", {}).get("type")
        values[name] = (
            conversation_a if name == "conversation_id" else ("999999" if kind == "integer" else "x-none")
        )
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], operation.path)


def call(client: TestClient, operation: Operation, headers: dict[str, str], conversation_a: str) -> Any:
    url = url_for(operation, conversation_a)
    content = operation.spec.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return client.request(operation.method, url, headers=headers, json={})
    if content:  # a form: an empty one, which an admitted caller gets a 422 for
        return client.request(operation.method, url, headers=headers, data={})
    return client.request(operation.method, url, headers=headers)


def test_the_schema_lists_the_routes_of_every_domain():
    # Guards the walk itself: an empty or truncated schema would make the test below pass vacuously.
    assert len(OPERATIONS) >= 40
    assert {o.audience for o in OPERATIONS} >= {"public", "widget", "service", "agent", "admin"}
    assert {p.path for p in WEBSOCKETS} >= {"/ws/widget", "/ws/agent"}


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_each_route_admits_exactly_its_audience(
    app_client: TestClient, callers: Callers, operation: Operation
):
    assert operation.audience in AUDIENCES, f"{operation} states no audience: {HOW_TO_DECLARE}"
    wrong = []
    for role in ROLES:
        want = expected(operation.audience, role)
        response = call(app_client, operation, callers.headers[role], callers.conversation_a)
        got = response.status_code
        if (got in (401, 403)) if want == ALLOW else (got != want):
            wrong.append(f"{role}: expected {want}, got {got} {response.text[:160]}")
    assert not wrong, f"{operation}:\n" + "\n".join(wrong)


def websocket_token(callers: Callers, role: str) -> str | None:
    if role in ("widget A", "widget B"):
        return callers.token_a if role == "widget A" else callers.token_b
    if role == "service":
        return callers.headers["service"]["X-Service-Token"]
    header = callers.headers[role].get("Authorization")
    return header.removeprefix("Bearer ") if header else None


@pytest.mark.parametrize("route", WEBSOCKETS, ids=lambda p: f"WS {p.path} [{p.audience}]")
def test_each_websocket_admits_exactly_its_audience(app_client: TestClient, callers: Callers, route):
    assert route.audience in AUDIENCES, f"WebSocket {route.path} states no audience: mark it @audience(...)"
    # A widget token names its own conversation, so widget B is admitted to B's socket.
    admitted = {"widget": {"widget A", "widget B"}, "public": set(ROLES)}.get(
        route.audience, set(STAFF_ROLES.get(route.audience, []))
    )
    wrong = []
    for role in ROLES:
        token = websocket_token(callers, role)
        offered = subprotocols(token) if token else None
        try:
            with app_client.websocket_connect(route.path, subprotocols=offered):
                outcome = ALLOW
        except WebSocketDisconnect as closed:
            outcome = f"closed {closed.code}"
        want = ALLOW if role in admitted else "closed 1008"
        if outcome != want:
            wrong.append(f"{role}: expected {want}, got {outcome}")
    assert not wrong, f"WebSocket {route.path}:\n" + "\n".join(wrong)


def test_a_route_without_an_auth_dependency_is_reported_undeclared():
    app = FastAPI()

    @app.get("/open")
    async def open_route() -> dict[str, str]:
        return {}

    @app.get("/admins")
    async def admins_only(admin: AdminDep) -> dict[str, str]:
        return {}

    audiences = {p.path: p.audience for p in route_policies(app)}
    assert audiences == {"/open": UNDECLARED, "/admins": "admin"}
