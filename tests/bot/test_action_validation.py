"""The once-built validator of action server responses accepts and refuses exactly what Rasa's own does."""

from __future__ import annotations

from typing import Any

import pytest
from channels import action_validation
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

VALID: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "order_id", "value": "ORD-100002"}], "responses": [{"text": "hi"}]},
    {"responses": [{"text": "pick one", "buttons": [{"title": "Yes", "payload": "/affirm"}]}]},
]
INVALID: list[dict[str, Any]] = [
    {"events": [{"name": "no event type"}]},
    {"events": "not a list"},
    {"events": [{"event": "slot", "timestamp": "not a number"}]},
]


@pytest.fixture
def action() -> RemoteAction:
    return RemoteAction("action_lookup_order", EndpointConfig("http://127.0.0.1:1"))


@pytest.fixture
def rasa_original() -> Any:
    original = action_validation.RASA_VALIDATE_ACTION_RESULT
    assert original is not action_validation.validate_action_result
    return original


@pytest.mark.parametrize("result", VALID)
def test_valid_responses_pass_both(action: RemoteAction, rasa_original: Any, result: dict[str, Any]) -> None:
    assert rasa_original(action, result) is True
    assert action_validation.validate_action_result(action, result) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_responses_fail_both_with_the_same_message(
    action: RemoteAction, rasa_original: Any, result: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as theirs:
        rasa_original(action, result)
    with pytest.raises(ValidationError) as ours:
        action_validation.validate_action_result(action, result)
    assert ours.value.message == theirs.value.message
    assert "Failed to validate Action server response" in ours.value.message


def test_install_replaces_rasas_method(action: RemoteAction) -> None:
    action_validation.install()
    assert RemoteAction._validate_action_result is action_validation.validate_action_result
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})
