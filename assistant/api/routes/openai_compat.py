"""The OpenAI chat-completions protocol, so any OpenAI client can talk to the assistant.

The answer text keeps its [n] markers; the citations travel in the extra top-level fields
``citations`` and ``kansai`` (grounded, removed, backend, degraded, …) of the response, and
of the last chunk when streaming (see docs/api.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from assistant.answer.engine import Event
from assistant.answer.types import AnswerResult
from assistant.api.deps import ServicesDep
from assistant.api.errors import error_body
from assistant.api.routes._common import log_question, split_messages
from assistant.api.schemas import OpenAIChatRequest
from assistant.api.sse import SSE_HEADERS, first_and_rest, sse
from assistant.errors import AssistantError

MODEL_ID = "kansai-vision-assistant"
ROLE_ALIASES = {"developer": "system"}

router = APIRouter(tags=["openai"])
log = logging.getLogger(__name__)


@router.get("/v1/models", summary="OpenAI: list models")
async def models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "kansai"}],
    }


@router.post("/v1/chat/completions", summary="OpenAI: chat completion with citations")
async def chat_completions(body: OpenAIChatRequest, services: ServicesDep) -> Any:
    msgs = [(ROLE_ALIASES.get(m.role, m.role), m.text()) for m in body.messages]
    question, history = split_messages(msgs, services.settings)
    log_question(services.settings, question, body.mode, "openai")
    model = body.model or MODEL_ID
    if not body.stream:
        result = await run_in_threadpool(
            services.answers.answer, question, history, body.mode, body.top_k
        )
        return completion(result, model)
    events = services.answers.stream(question, history, body.mode, body.top_k)
    first, rest = await first_and_rest(events)
    return StreamingResponse(
        _chunks(first, rest, model, f"chatcmpl-{time.time_ns():x}"),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


def extras(result: AnswerResult) -> dict[str, Any]:
    """The fields an OpenAI response does not have: citations and the answer's metadata."""
    data = result.to_json()
    meta = {k: data[k] for k in data if k not in ("answer", "citations", "question")}
    return {"citations": data["citations"], "kansai": meta}


def completion(result: AnswerResult, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{result.id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.answer},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        **extras(result),
    }


def _chunk(
    cid: str, model: str, delta: dict[str, Any], finish: str | None = None
) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


async def _chunks(
    first: Event | None, rest: AsyncIterator[Event], model: str, cid: str
) -> AsyncIterator[str]:
    yield sse(_chunk(cid, model, {"role": "assistant", "content": ""}))
    try:
        if first is not None:
            yield _event(first, cid, model)
        async for ev in rest:
            yield _event(ev, cid, model)
    except AssistantError as exc:
        yield sse(error_body(exc.status_code, exc.code, exc.message, exc.hint))
    except Exception:
        log.exception("the completion stream failed")
        yield sse(error_body(500, "internal_error", "internal server error"))
    yield sse("[DONE]")


def _event(ev: Event, cid: str, model: str) -> str:
    if ev.kind == "final" and ev.result is not None:
        return sse({**_chunk(cid, model, {}, "stop"), **extras(ev.result)})
    return sse(_chunk(cid, model, {"content": ev.text}))
