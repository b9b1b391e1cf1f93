"""Rasa checks every action server response against one constant JSON schema, but through
`jsonschema.validate()`, which first re-validates that schema against the JSON Schema metaschema on
every call. On this project's turns that metaschema check was 13% of the Rasa server's CPU (py-spy,
2 cores), for a result that never changes. `install()` makes `RemoteAction._validate_action_result`
build its validator once: every response is still validated against the same schema, and a bad one
raises the same `ValidationError` with the same explanation appended, as Rasa's own method does.

Installed when Rasa imports this package's input channel (bot/credentials.yml loads `channels.hub`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

ADVICE = (
    ". Failed to validate Action server response from API, make sure your response from the Action endpoint "
    f"is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
)


# Rasa's own method, as imported (before install()); the tests compare the two.
RASA_VALIDATE_ACTION_RESULT = RemoteAction._validate_action_result


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)  # once, as jsonschema.validate() would on every call
    return validator_class(schema)


def validate_action_result(_: RemoteAction, result: dict[str, Any]) -> bool:
    error: ValidationError | None = best_match(_response_validator().iter_errors(result))
    if error is not None:
        error.message += ADVICE
        raise error
    return True


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
