"""POST /api/chat: the answer JSON, or Server-Sent Events (delta…, final) with ``stream``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from assistant.answer.engine import Event
from assistant.api.deps import ServicesDep
from assistant.api.errors import error_body
from assistant.api.routes._common import Conversation, log_question, split_messages
from assistant.api.schemas import ChatRequest
from assistant.api.shaping import TextShaper
from assistant.api.slots import AnswerSlots
from assistant.api.sse import SSE_HEADERS, ClosingStreamingResponse, first_and_rest, sse
from assistant.errors import AssistantError

router = APIRouter(tags=["answers"])
log = logging.getLogger(__name__)


@router.post(
    "/api/chat",
    summary="Answer the last user message with citations",
    responses={200: {"content": {"text/event-stream": {}}, "description": "answer JSON or SSE"}},
)
async def chat(body: ChatRequest, request: Request, services: ServicesDep) -> Any:
    convo = split_messages([(m.role, m.content) for m in body.messages], services.settings)
    log_question(services.settings, convo.question, body.mode, "chat")
    slots: AnswerSlots = request.app.state.answer_slots
    if not body.stream:
        async with slots.admit(convo.chars):
            result = await run_in_threadpool(
                services.answers.answer,
                convo.question,
                convo.history,
                body.mode,
                body.top_k,
                body.documents,
            )
        return JSONResponse(_answer_json(result.to_json(), convo), headers=convo.headers())
    ticket = await slots.acquire(convo.chars)
    try:
        events = services.answers.stream(
            convo.question, convo.history, body.mode, body.top_k, body.documents
        )
        first, rest = await first_and_rest(events)  # errors before the first byte: JSON errors
    except BaseException:
        ticket.release()
        raise
    return ClosingStreamingResponse(
        _sse_events(first, rest, convo),
        on_close=ticket.release,
        media_type="text/event-stream",
        headers={**SSE_HEADERS, **convo.headers()},
    )


def _answer_json(data: dict[str, Any], convo: Conversation) -> dict[str, Any]:
    return {**data, "history_dropped": convo.dropped}


async def _sse_events(
    first: Event | None, rest: AsyncIterator[Event], convo: Conversation
) -> AsyncIterator[str]:
    shaper = TextShaper()  # the joined deltas are exactly the final "answer"
    try:
        if first is not None:
            for out in _format(first, shaper, convo):
                yield out
        async for ev in rest:
            for out in _format(ev, shaper, convo):
                yield out
    except AssistantError as exc:  # after the first byte the status is sent: an error event
        yield sse(error_body(exc.status_code, exc.code, exc.message, exc.hint), "error")
    except Exception:
        log.exception("the answer stream failed")
        yield sse(error_body(500, "internal_error", "internal server error"), "error")


def _format(ev: Event, shaper: TextShaper, convo: Conversation) -> list[str]:
    if ev.kind == "final" and ev.result is not None:
        out = [sse({"text": t}, "delta") for t in (shaper.finish(),) if t]
        answer = ev.result.answer
        if shaper.text != answer:
            if answer.startswith(shaper.text):
                out.append(sse({"text": answer[len(shaper.text) :]}, "delta"))
            else:
                log.warning("the streamed text differs from the final answer (answer engine)")
        return [*out, sse(_answer_json(ev.result.to_json(), convo), "final")]
    text = shaper.feed(ev.text)
    return [sse({"text": text}, "delta")] if text else []
