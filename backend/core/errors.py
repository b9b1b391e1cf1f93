"""Error answers: the body of every one that is not a request-validation error (for the OpenAPI schema), and
the request-validation answer itself."""

from typing import Any

from fastapi import Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend.core.text import printable


class ErrorOut(BaseModel):
    """What went wrong, in words (a bulk import lists each problem)."""

    detail: str | list[Any]


def error_response(status_code: int, description: str) -> dict[int | str, dict[str, Any]]:
    """A `responses=` entry for a route that may answer `status_code` with an ErrorOut."""
    return {status_code: {"model": ErrorOut, "description": description}}


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 answer, except that a refused input quoted back is made printable: FastAPI's own handler
    would fail to encode a lone surrogate it quotes, turning the refusal into a 500 (backend/core/text.py)."""
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": printable(jsonable_encoder(exc.errors()))},
    )
