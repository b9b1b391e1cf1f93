"""Who may call each route, stated once, enforced by a dependency and published in the OpenAPI schema.

Every auth dependency (backend/auth/dependencies.py) names the audience it admits with `@grants`. When the
OpenAPI schema is built, `route_policies` walks each route's dependency tree and takes the audience from the
dependencies that enforce it, and `declare_audiences` writes it into the route's operation as `x-audience`
(and as a sentence of its description). The published policy is derived from the code that enforces it,
so the two cannot drift. A route without any auth dependency is public only when its endpoint says so
with `@public`; otherwise it is published as "undeclared", which tests/security/test_route_policy.py refuses.
WebSocket routes check their token inside the handler, so they state their audience with `@audience`.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts

from backend.core.errors import ErrorOut

F = TypeVar("F", bound=Callable[..., Any])

# Who each audience admits, as written in the API docs.
AUDIENCES = {
    "public": "anyone; no sign-in",
    "widget": "a widget session token bound to the conversation in the path",
    "service": "internal services presenting X-Service-Token (the action server)",
    "agent": "signed-in staff: agents, supervisors and admins",
    "supervisor": "signed-in supervisors and admins",
    "admin": "signed-in admins only",
}
STAFF_RANK = {"agent": 0, "supervisor": 1, "admin": 2}
UNDECLARED = "undeclared"
ATTRIBUTE = "__audience__"


class PolicyConflict(ValueError):
    """A route combines dependencies of audiences that exclude each other (e.g. widget and staff)."""


def audience(name: str) -> Callable[[F], F]:
    """Mark a dependency (or a WebSocket endpoint) with the audience it admits."""
    if name not in AUDIENCES:
        raise ValueError(f"unknown audience {name!r}; known: {', '.join(AUDIENCES)}")

    def mark(function: F) -> F:
        setattr(function, ATTRIBUTE, name)
        return function

    return mark


grants = audience
public = audience("public")


def marked_audience(function: object) -> str | None:
    return getattr(function, ATTRIBUTE, None)


def _calls(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


@dataclass(frozen=True)
class RoutePolicy:
    path: str
    methods: frozenset[str]  # empty for a WebSocket route
    audience: str
    websocket: bool


def route_audience(dependant: Dependant, endpoint: object, path: str) -> str:
    """The audience a route's dependencies enforce; "undeclared" when nothing states one."""
    found = {name for call in _calls(dependant) if (name := marked_audience(call))}
    staff = {name for name in found if name in STAFF_RANK}
    others = found - staff
    if len(others) > 1 or (others and staff):
        raise PolicyConflict(f"{path}: dependencies admit conflicting audiences {sorted(found)}")
    if staff:
        return max(staff, key=STAFF_RANK.__getitem__)
    if others:
        return others.pop()
    return marked_audience(endpoint) or UNDECLARED


def route_policies(app: FastAPI) -> list[RoutePolicy]:
    """Every HTTP route in the schema and every WebSocket route, with its audience.

    Walks FastAPI's effective routes, which carry the dependencies of the routers they were included with.
    """
    policies = []
    for context in iter_route_contexts(app.routes):
        original = context.original_route
        if isinstance(original, APIRoute) and context.include_in_schema:
            name = route_audience(context.dependant, context.endpoint, context.path_format)
            methods = frozenset(context.methods or ())
            policies.append(RoutePolicy(context.path_format, methods, name, websocket=False))
        elif isinstance(original, APIWebSocketRoute):
            name = marked_audience(context.endpoint) or UNDECLARED
            policies.append(RoutePolicy(context.path_format, frozenset(), name, websocket=True))
    return policies


def install_route_policy(app: FastAPI) -> None:
    """Publish every operation's audience, and the error answers it implies, in the OpenAPI schema.

    Applied when the schema is first built, so routes included after create_app's routers count too.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            declare_audiences(schema, route_policies(app))
            publish_error_responses(schema)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def declare_audiences(schema: dict[str, Any], policies: list[RoutePolicy]) -> None:
    """Write each operation's audience into it: `x-audience`, and a sentence of its description."""
    audiences = {(m.lower(), p.path): p.audience for p in policies for m in p.methods}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            name = audiences.get((method, path), UNDECLARED)
            operation["x-audience"] = name
            who = AUDIENCES.get(name, "NOT DECLARED: this route states no audience")
            operation["description"] = (
                f"{operation.get('description', '')}\n\n**Who may call:** {who}.".strip()
            )


ERROR_REF = "#/components/schemas/ErrorOut"
# Answers implied by an audience: who is refused, and how.
AUDIENCE_ERRORS = {
    401: ("Not signed in, or the token is invalid or expired.", {"widget", "service", *STAFF_RANK}),
    403: (
        "Signed in, but not allowed: another conversation's token, or a role too low.",
        {"widget", "supervisor", "admin"},
    ),
    410: ("The conversation was erased: its widget tokens no longer work; open a new session.", {"widget"}),
}


def publish_error_responses(schema: dict[str, Any]) -> None:
    """Add the error answers every operation can give to its documented responses (ErrorOut bodies):
    401/403/410 from its audience, 404 when it names a record in its path, 400/413 when it takes a body,
    and widen 422 to FastAPI's validation errors or a message."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorOut", ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}"))
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            _add_errors(operation)


def _add_errors(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    content = {"application/json": {"schema": {"$ref": ERROR_REF}}}

    def add(code: int, description: str) -> None:
        responses.setdefault(str(code), {"description": description, "content": content})

    audience_name = operation.get("x-audience")
    for code, (description, audiences) in AUDIENCE_ERRORS.items():
        if audience_name in audiences:
            add(code, description)
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        add(404, "No such record, or not one this caller may see.")
    if "requestBody" in operation:
        add(400, "The body could not be parsed (not JSON, or broken multipart).")
        add(413, "Request body larger than MAX_REQUEST_BYTES.")
    validation = responses.get("422", {}).get("content", {}).get("application/json")
    if validation and "anyOf" not in validation["schema"]:
        validation["schema"] = {"anyOf": [validation["schema"], {"$ref": ERROR_REF}]}
