"""Request bodies checked before any route sees them, and the text rules shared by the routes.

:class:`JsonBodyGuard` reads a JSON body once and refuses, with one error shape for every
endpoint (chat, streaming, /v1, search, feedback, admin): a body that is not UTF-8 (raw
``ED A0 80``), a lone surrogate escape (``"\\ud800"``: not a character, it cannot be
encoded, embedded or written to a file), nesting deeper than :data:`MAX_DEPTH` and bodies
over the size limit. Everything else goes on unchanged (the body is replayed).
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.errors import error_response

MAX_DEPTH = 32  # our bodies nest 4 levels; a client sending 32+ is not sending a question
_SURROGATE = re.compile("[\ud800-\udfff]")
_INVISIBLE_EXTRA = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}  # blank "letters"


# ---- text rules ------------------------------------------------------------------------------
def is_invisible(ch: str) -> bool:
    """Whitespace, format characters (zero-width space, BOM, ZWJ…), variation selectors."""
    if ch.isspace() or ch in _INVISIBLE_EXTRA:
        return True
    cat = unicodedata.category(ch)
    if cat in ("Cf", "Cc", "Zs", "Zl", "Zp"):
        return True
    o = ord(ch)
    return 0xFE00 <= o <= 0xFE0F or 0xE0100 <= o <= 0xE01EF


def clean_question(text: str) -> str:
    """The question as the engine should see it: format characters (zero-width spaces, soft
    hyphens, BOMs) removed anywhere — they split words for the tokenizer — and the ends
    trimmed of anything invisible. A question of invisible characters only becomes ``""``."""
    kept = "".join(c for c in text if unicodedata.category(c) != "Cf")
    start, end = 0, len(kept)
    while start < end and is_invisible(kept[start]):
        start += 1
    while end > start and is_invisible(kept[end - 1]):
        end -= 1
    return kept[start:end]


def lone_surrogate(text: str) -> int:
    """The index of the first lone surrogate in ``text``, or -1."""
    m = _SURROGATE.search(text)
    return m.start() if m else -1


# ---- the body check ----------------------------------------------------------------------------
class BodyProblem(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def check_json_body(body: bytes, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`BodyProblem` when ``body`` is not strict UTF-8 JSON of real characters."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyProblem(
            f"the request body is not valid UTF-8 (byte 0x{body[exc.start]:02x} at offset "
            f"{exc.start})",
            "send the JSON encoded as UTF-8",
        ) from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise BodyProblem(_too_deep(max_depth), "send a flat JSON object (see /docs)") from None
    except ValueError as exc:
        raise BodyProblem(
            f"the request body is not valid JSON ({exc})", "send a JSON object"
        ) from None
    _walk(data, max_depth)


def _too_deep(max_depth: int) -> str:
    return f"the JSON is nested too deeply (more than {max_depth} levels)"


def _walk(data: Any, max_depth: int) -> None:
    """Depth and lone surrogates in every key and string, without recursion."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str):
            _check_text(value, where)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > max_depth:
            raise BodyProblem(_too_deep(max_depth), "send a flat JSON object (see /docs)")
        if isinstance(value, dict):
            for k, v in value.items():
                _check_text(k, f"{where}.{k}" if where else "a key")
                stack.append((v, depth + 1, f"{where}.{k}" if where else k))
        else:
            stack.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(value))


def _check_text(text: str, where: str) -> None:
    i = lone_surrogate(text)
    if i >= 0:
        raise BodyProblem(
            f"the text in {where or 'the body'} contains a lone surrogate "
            f"(\\u{ord(text[i]):04x} at character {i}), which is not a character",
            "send real Unicode text: a \\uD800–\\uDFFF escape must be half of a valid pair",
        )


def _is_json(scope: Scope) -> bool:
    for key, value in scope.get("headers") or []:
        if key == b"content-type":
            ctype = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return ctype == "application/json" or ctype.endswith("+json")
    return True  # FastAPI reads a body without a content type as JSON


class JsonBodyGuard:
    """ASGI middleware: check JSON bodies (see the module docstring), then replay them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") not in ("POST", "PUT", "PATCH")
            or not _is_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await error_response(
                    413,
                    "payload_too_large",
                    f"the request body is larger than the limit ({self.max_bytes} bytes)",
                    "send fewer or shorter messages, or raise KANSAI_MAX_JSON_BYTES",
                )(scope, receive, send)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        if body.strip():
            try:
                check_json_body(body)
            except BodyProblem as exc:
                await error_response(400, "malformed_json", exc.message, exc.hint)(
                    scope, receive, send
                )
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
