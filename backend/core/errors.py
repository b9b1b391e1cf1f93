"""Error answers: the body of every one that is not a request-validation error (for the OpenAPI schema), the
404 of a lookup that found nothing, and the request-validation answer itself."""

from typing import Any, TypeVar

from fastapi import HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend.core.text import printable

T = TypeVar("T")


class ErrorOut(BaseModel):
    """What went wrong, in words (a bulk import lists each problem)."""

    detail: str | list[Any]


def error_response(status_code: int, description: str) -> dict[int | str, dict[str, Any]]:
    """A `responses=` entry for a route that may answer `status_code` with an ErrorOut."""
    return {status_code: {"model": ErrorOut, "description": description}}


def found_or_404(found: T | None, detail: str) -> T:
    """What a lookup found, or the 404 answer saying `detail` (e.g. "customer not found") when it found
    nothing: a route names what it looks for in its path, so a missing row is the caller's mistake."""
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail)
    return found


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 answer, except that a refused input quoted back is made printable: FastAPI's own handler
    would fail to encode a lone surrogate it quotes, turning the refusal into a 500 (backend/core/text.py)."""
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": printable(jsonable_encoder(exc.errors()))},
    )
