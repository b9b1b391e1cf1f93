"""The body of every error answer that is not a request-validation error, for the OpenAPI schema."""

from typing import Any

from pydantic import BaseModel


class ErrorOut(BaseModel):
    """What went wrong, in words (a bulk import lists each problem)."""

    detail: str | list[Any]


def error_response(status_code: int, description: str) -> dict[int | str, dict[str, Any]]:
    """A `responses=` entry for a route that may answer `status_code` with an ErrorOut."""
    return {status_code: {"model": ErrorOut, "description": description}}
