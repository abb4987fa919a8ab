"""RFC 9457 problem details: every error of the API is one of these.

Validation errors list where and what, never the rejected input: a field that
failed validation may hold an API key.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None


class ApiProblem(Exception):
    """Raise to answer with a problem; `detail` must hold no secret."""

    def __init__(
        self, status: int, detail: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
}


def problem_response(
    status: int,
    detail: str | None,
    *,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body = Problem(
        title=TITLES.get(status, "Error"), status=status, detail=detail, errors=errors
    ).model_dump(exclude_none=True)
    return JSONResponse(
        body, status_code=status, headers=headers, media_type=PROBLEM_TYPE
    )


def _validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "location": [str(part) for part in item.get("loc", ())],
            "message": str(item.get("msg", "")),
        }
        for item in error.errors()
    ]


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiProblem)
        return problem_response(error.status, error.detail, headers=error.headers)

    async def on_http(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        headers = dict(error.headers) if error.headers else None
        return problem_response(error.status_code, str(error.detail), headers=headers)

    async def on_validation(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return problem_response(
            422, "the request is not valid", errors=_validation_errors(error)
        )

    async def on_crash(request: Request, error: Exception) -> JSONResponse:
        # Type only: an exception's text could quote a secret it was handed.
        log.error(
            "unexpected %s on %s %s",
            type(error).__name__,
            request.method,
            request.url.path,
        )
        return problem_response(500, "unexpected error; see the server log")

    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_crash)


def problem_content() -> dict[str, Any]:
    return {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problems an operation can answer."""
    return {
        status: {
            "model": Problem,
            "description": TITLES[status],
            "content": problem_content(),
        }
        for status in statuses
    }
