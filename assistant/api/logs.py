"""Structured logs: one access line per request with its id and timing; JSON lines on demand.

The request id comes from ``X-Request-ID`` (if sane) or is generated, is echoed back and
attached to every log record made while the request runs. Question text is logged only
with KANSAI_LOG_QUESTIONS=true; headers (and so tokens) are never logged.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.errors import internal_error_response
from assistant.settings import Settings

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
access_log = logging.getLogger("assistant.api.access")
log = logging.getLogger(__name__)

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_UNSAFE_FOR_LOG = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_EXTRA_KEYS = ("method", "path", "status", "ms", "client", "mode", "chars", "question", "event")


def log_safe(text: object, limit: int = 2000) -> str:
    """Text that cannot forge or break a log line: control characters (CR, LF, NUL, ESC…),
    line separators and lone surrogates become ``%XX`` escapes, as in a URL."""
    s = str(text)
    if len(s) > limit:
        s = s[:limit] + "…"
    return _UNSAFE_FOR_LOG.sub(lambda m: "".join(f"%{b:02X}" for b in _bytes(m.group())), s)


def _bytes(ch: str) -> bytes:
    return ch.encode("utf-8", "surrogatepass")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key in _EXTRA_KEYS:
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(settings: Settings, verbose: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "chromadb", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class RequestContextMiddleware:
    """Request id, access log, and the last line of defence: a JSON 500 without details."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _SANE_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", rid.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception(
                "unhandled error on %s %s", scope.get("method"), log_safe(scope.get("path", ""))
            )
            if status == 0:
                status = 500
                await internal_error_response()(scope, receive, send_with_id)
        finally:
            client = scope.get("client")
            path = log_safe(scope.get("path", ""))
            access_log.info(
                "%s %s %s %.1fms",
                log_safe(scope.get("method", "")),
                path,
                status,
                (time.perf_counter() - started) * 1000,
                extra={
                    "method": scope.get("method"),
                    "path": path,
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "client": client[0] if client else "",
                },
            )
            request_id.reset(token)
