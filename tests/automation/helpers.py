"""Shared steps of the automation tests: rules through the API, customer turns, waiting for the engine."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi.testclient import TestClient

from tests.app_fixtures import SERVICE_HEADERS, staff_headers

T = TypeVar("T")
ADMIN = "admin@northwind.example"
SUPERVISOR = "jordan@northwind.example"


def admin(client: TestClient) -> dict[str, str]:
    return staff_headers(client, ADMIN)


def supervisor(client: TestClient) -> dict[str, str]:
    return staff_headers(client, SUPERVISOR)


def rule(trigger: dict[str, Any], actions: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"trigger": trigger, "actions": actions, **extra}


def create(client: TestClient, headers: dict[str, str], definition: dict[str, Any], name: str = "r") -> int:
    response = client.post(
        "/api/automation/rules", json={"name": name, "definition": definition}, headers=headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def dry_run(client: TestClient, headers: dict[str, str], rule_id: int, days: int = 1) -> dict[str, Any]:
    response = client.post(f"/api/automation/rules/{rule_id}/dry-run?days={days}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def enable(client: TestClient, headers: dict[str, str], rule_id: int) -> dict[str, Any]:
    response = client.post(f"/api/automation/rules/{rule_id}/enable", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def live(client: TestClient, headers: dict[str, str], definition: dict[str, Any], name: str = "r") -> int:
    """A rule created, dry-run and enabled, as an admin would."""
    rule_id = create(client, headers, definition, name)
    dry_run(client, headers, rule_id)
    enable(client, headers, rule_id)
    return rule_id


def say(client: TestClient, widget: dict[str, str], text: str) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/messages",
        json={"text": text},
        headers={"Authorization": widget["auth"]},
    )
    assert response.status_code == 200, response.text
    settle(client)
    return response.json()


def hand_over(client: TestClient, conversation_id: str) -> None:
    response = client.post(
        f"/api/v1/service/conversations/{conversation_id}/handoff",
        json={"reason": "customer asked for a person"},
        headers=SERVICE_HEADERS,
    )
    assert response.status_code == 200, response.text
    settle(client)


def settle(client: TestClient) -> None:
    """Wait until the engine has handled every event published so far (it handles them in the background)."""
    client.portal.call(client.app.state.automation.idle)


def sweep(client: TestClient) -> None:
    client.portal.call(client.app.state.automation.sweep)


def tags(client: TestClient, headers: dict[str, str], conversation_id: str) -> list[str]:
    response = client.get(f"/api/automation/tags?conversation_id={conversation_id}", headers=headers)
    assert response.status_code == 200, response.text
    return [t["tag"] for t in response.json()]


def decisions(client: TestClient, headers: dict[str, str], conversation_id: str) -> list[dict[str, Any]]:
    response = client.get(
        f"/api/decisions?kind=automation&conversation_id={conversation_id}&limit=500", headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def exceptions(client: TestClient, state: str = "open") -> list[dict[str, Any]]:
    response = client.get(f"/api/automation/exceptions?state={state}", headers=supervisor(client))
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(predicate: Callable[[], T], timeout_s: float = 30.0) -> T:
    """Poll until `predicate` returns something truthy (the routing loop runs on its own clock); `timeout_s`
    is a liveness bound for a loaded machine, not a speed target."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)
