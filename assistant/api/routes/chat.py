"""POST /api/chat: the answer JSON, or Server-Sent Events (delta…, final) with ``stream``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from assistant.answer.engine import Event
from assistant.api.deps import ServicesDep
from assistant.api.errors import error_body
from assistant.api.routes._common import log_question, split_messages
from assistant.api.schemas import ChatRequest
from assistant.api.sse import SSE_HEADERS, first_and_rest, sse
from assistant.errors import AssistantError

router = APIRouter(tags=["answers"])
log = logging.getLogger(__name__)


@router.post(
    "/api/chat",
    summary="Answer the last user message with citations",
    responses={200: {"content": {"text/event-stream": {}}, "description": "answer JSON or SSE"}},
)
async def chat(body: ChatRequest, services: ServicesDep) -> Any:
    question, history = split_messages(
        [(m.role, m.content) for m in body.messages], services.settings
    )
    log_question(services.settings, question, body.mode, "chat")
    if not body.stream:
        result = await run_in_threadpool(
            services.answers.answer, question, history, body.mode, body.top_k, body.documents
        )
        return result.to_json()
    events = services.answers.stream(question, history, body.mode, body.top_k, body.documents)
    first, rest = await first_and_rest(events)  # errors before the first byte: a JSON error
    return StreamingResponse(
        _sse_events(first, rest), media_type="text/event-stream", headers=SSE_HEADERS
    )


async def _sse_events(first: Event | None, rest: AsyncIterator[Event]) -> AsyncIterator[str]:
    try:
        if first is not None:
            yield _format(first)
        async for ev in rest:
            yield _format(ev)
    except AssistantError as exc:  # after the first byte the status is sent: an error event
        yield sse(error_body(exc.status_code, exc.code, exc.message, exc.hint), "error")
    except Exception:
        log.exception("the answer stream failed")
        yield sse(error_body(500, "internal_error", "internal server error"), "error")


def _format(ev: Event) -> str:
    if ev.kind == "final" and ev.result is not None:
        return sse(ev.result.to_json(), "final")
    return sse({"text": ev.text}, "delta")
