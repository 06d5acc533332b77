"""JSON errors at the HTTP edge: every failure is ``{"error": {...}}`` with a 4xx/5xx status.

The body is the same for the JSON API and the OpenAI-compatible routes (``message`` and
``type`` are where OpenAI clients look). Tracebacks are logged server-side, never returned.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import AssistantError

log = logging.getLogger(__name__)


# ---- errors that only exist at the HTTP edge -------------------------------------------------
class Forbidden(AssistantError):
    status_code = 403
    code = "forbidden"


class AdminDisabled(Forbidden):
    code = "admin_disabled"


class Conflict(AssistantError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(AssistantError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(AssistantError):
    status_code = 415
    code = "unsupported_media_type"


class ModelNotFound(AssistantError):
    status_code = 404
    code = "model_not_found"


class Busy(AssistantError):
    """Too many long questions waiting: come back shortly (503 with Retry-After)."""

    status_code = 503
    code = "busy"

    def __init__(self, message: str, retry_after: int, hint: str = "") -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after


class RateLimited(AssistantError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, hint: str = "") -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after


# ---- the body ---------------------------------------------------------------------------------
class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")  # e.g. ``details`` on a 422

    code: str
    type: str
    message: str
    hint: str = ""


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body (declared in the OpenAPI schema so clients can rely on it)."""

    error: ErrorDetail


_ERROR_TEXT = {
    400: "bad request",
    401: "missing or wrong API key / admin token",
    403: "admin endpoints disabled",
    404: "not found",
    409: "conflict (document id taken, the only document, ingest busy)",
    413: "upload too large",
    415: "unsupported media or file type",
    422: "request body does not match the schema",
    429: "rate limited (see Retry-After)",
    500: "internal error (details in the server log)",
    502: "the language model failed",
    503: "index not ready (run `kansai-assistant ingest`), Chroma unreachable, or busy "
    "with long questions (see Retry-After)",
    504: "the language model timed out",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route or router: these statuses carry an :class:`ErrorResponse`."""
    return {s: {"model": ErrorResponse, "description": _ERROR_TEXT[s]} for s in statuses}


def error_body(
    status: int, code: str, message: str, hint: str = "", **extra: Any
) -> dict[str, Any]:
    err: dict[str, Any] = {
        "code": code,
        "type": "server_error" if status >= 500 else "invalid_request_error",
        "message": message,
        "hint": hint,
    }
    err.update(extra)
    return {"error": err}


def error_response(
    status: int,
    code: str,
    message: str,
    hint: str = "",
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(error_body(status, code, message, hint, **extra), status, headers=headers)


def from_assistant_error(exc: AssistantError) -> JSONResponse:
    headers: dict[str, str] | None = None
    if isinstance(exc, RateLimited | Busy):
        headers = {"Retry-After": str(exc.retry_after)}
    elif exc.status_code == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return error_response(exc.status_code, exc.code, exc.message, exc.hint, headers)


def validation_message(errors: list[Any]) -> str:
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
        parts.append(f"{loc}: {e.get('msg', 'invalid')}")
    return "; ".join(parts)


# ---- handlers -------------------------------------------------------------------------------
async def _assistant_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AssistantError)
    if exc.status_code >= 500:
        log.warning("%s: %s", exc.code, exc.message)
    return from_assistant_error(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(
            400, "malformed_json", "the request body is not valid JSON", "send a JSON object"
        )
    details = [
        {"loc": [str(x) for x in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type")}
        for e in errors
    ]
    return error_response(
        422,
        "invalid_request",
        validation_message(errors),
        "see /docs for the request schema",
        details=details,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404:
        message = f"no such endpoint: {request.method} {request.url.path}"
    return error_response(exc.status_code, code, message, "see /docs", exc.headers)


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    from assistant.api.logs import log_safe

    log.error("unhandled error on %s %s", request.method, log_safe(request.url.path), exc_info=exc)
    return internal_error_response()


def internal_error_response() -> JSONResponse:
    return error_response(
        500, "internal_error", "internal server error", "the server log has the details"
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(AssistantError, _assistant_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
