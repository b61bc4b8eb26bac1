"""RFC 9457 problem+json for every error the API returns."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from regulars.errors import Contention, RegularsError, in_words

PROBLEM = "application/problem+json"


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the stable `code` of the failure."""

    type: str
    title: str
    status: int
    code: str = Field(examples=["duplicate_phone"])
    detail: str
    field: str | None = None
    errors: list[FieldProblem] | None = None


_MEANING = {
    401: "No key or member token, or a wrong one.",
    403: "The caller's role or account does not allow this.",
    404: "No such object.",
    409: "A conflict with what is already recorded.",
    422: "The request is invalid; the problem names the field.",
    429: "Too many requests; see Retry-After.",
    503: "The database could not be reached in time; try again after Retry-After.",
}
PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {
        "model": Problem,
        "description": meaning,
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, meaning in _MEANING.items()
}


def problem(status: int, code: str, detail: str, **extra: object) -> JSONResponse:
    body = {
        "type": f"https://regulars.dev/problems/{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def from_error(error: RegularsError) -> JSONResponse:
    extra: dict[str, object] = {"field": error.field} if error.field else {}
    response = problem(error.status, error.code, error.message, **extra)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(RegularsError)
    async def business_error(_request: Request, error: RegularsError) -> JSONResponse:
        return from_error(error)

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(Contention)
    async def database_busy(_request: Request, _error: Exception) -> JSONResponse:
        response = problem(
            503, "database_busy", "the database is busy or unreachable; nothing was recorded"
        )
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        body = await request.body()
        errors = [_field_problem(e, body) for e in error.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "invalid_input", detail, field=errors[0]["field"], errors=errors)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, error: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(error.status_code, f"http_{error.status_code}")
        detail = _HTTP_DETAILS.get(error.status_code, str(error.detail))
        response = problem(error.status_code, code, detail)
        response.headers.update(error.headers or {})
        return response


_HTTP_CODES = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed"}
_HTTP_DETAILS = {
    400: "the body is not JSON text in UTF-8, or nests too deep to read",
    404: "no such path; see /docs",
    405: "this path does not take this method; see /docs",
}


def _field_problem(error: Any, body: bytes) -> dict[str, str]:
    """A validation error in the words of the problem: the field's path and a sentence."""
    location = error["loc"]
    if error["type"] == "json_invalid":
        return {"field": "body", "message": _where_json_breaks(body, location[-1], error)}
    field = ".".join(str(part) for part in location[1:]) or str(location[0])
    return {"field": field, "message": in_words(error)}


def _where_json_breaks(body: bytes, offset: object, error: Any) -> str:
    text = body.decode("utf-8", errors="replace")
    at = offset if isinstance(offset, int) else 0
    line = text.count("\n", 0, at) + 1
    column = at - text.rfind("\n", 0, at)
    cause = error.get("ctx", {}).get("error", "")
    return f"not valid JSON at line {line}, column {column}: {cause}".rstrip(": ")
