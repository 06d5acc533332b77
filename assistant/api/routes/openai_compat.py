"""The OpenAI chat-completions protocol, so any OpenAI client can talk to the assistant.

The answer text keeps its [n] markers; the citations travel in the extra top-level fields
``citations`` and ``kansai`` (grounded, removed, backend, degraded, …) of the response, and
of the last chunk when streaming. For clients that drop unknown fields (LangChain, ``llm``),
``append_sources`` (or KANSAI_OPENAI_APPEND_SOURCES) appends a short sources list to the
text. What each request field does — supported, ignored or refused — is in the README.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from assistant.answer.engine import Event
from assistant.answer.types import AnswerResult
from assistant.api.deps import ServicesDep
from assistant.api.errors import ModelNotFound, error_body
from assistant.api.routes._common import Conversation, log_question, split_messages
from assistant.api.schemas import OpenAIChatRequest
from assistant.api.shaping import (
    TextShaper,
    TokenCount,
    sources_text,
    token_counter,
    used_citations,
)
from assistant.api.slots import AnswerSlots
from assistant.api.sse import SSE_HEADERS, ClosingStreamingResponse, first_and_rest, sse
from assistant.errors import AssistantError, BadRequest

MODEL_ID = "kansai-vision-assistant"
ROLE_ALIASES = {"developer": "system"}
IGNORED_HEADER = "X-Kansai-Ignored"
_HEADER_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")

router = APIRouter(tags=["openai"])
log = logging.getLogger(__name__)

MODEL = {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "kansai"}


@router.get("/v1/models", summary="OpenAI: list models")
async def models() -> dict[str, Any]:
    return {"object": "list", "data": [MODEL]}


@router.get("/v1/models/{model_id}", summary="OpenAI: one model")
async def model(model_id: str) -> dict[str, Any]:
    _check_model(model_id)
    return MODEL


def _check_model(name: str) -> None:
    if name not in ("", MODEL_ID):
        raise ModelNotFound(
            f"the model '{name[:100]}' does not exist here",
            f"use the model '{MODEL_ID}' (GET /v1/models)",
        )


# ---- the request ------------------------------------------------------------------------------
@dataclass
class Options:
    """What the request asks for, once checked."""

    stop: list[str] = field(default_factory=list)
    max_tokens: int | None = None
    append_sources: bool = False
    include_usage: bool = False
    ignored: list[str] = field(default_factory=list)


def _refuse(name: str, why: str, hint: str) -> BadRequest:
    return BadRequest(f"'{name}' is not supported: {why}", hint)


def options(body: OpenAIChatRequest, default_sources: bool) -> Options:
    """Check the fields beyond the messages: refuse what would silently mean something else."""
    _check_model(body.model)
    extra = body.model_extra or {}
    if body.n not in (None, 1):
        raise _refuse("n", "the assistant gives one answer per question", "leave n unset or 1")
    if extra.get("tools") or extra.get("functions"):
        raise _refuse("tools", "the assistant answers from its documents only", "send no tools")
    if extra.get("tool_choice") not in (None, "none", "auto") or extra.get("function_call"):
        raise _refuse("tool_choice", "there are no tools", "leave it unset")
    fmt = extra.get("response_format")
    if fmt is not None and not (isinstance(fmt, dict) and fmt.get("type") == "text"):
        raise _refuse("response_format", "answers are text with [n] citations", "leave it unset")
    if extra.get("logprobs") or extra.get("top_logprobs"):
        raise _refuse("logprobs", "answers are not sampled token by token", "leave it unset")
    modalities = extra.get("modalities")
    if extra.get("audio") or (modalities is not None and modalities != ["text"]):
        raise _refuse("modalities", "only text is produced", "leave it unset")
    stop = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    if len(stop) > 4 or any(not s for s in stop):
        raise BadRequest("'stop' takes up to 4 non-empty strings")
    ignored = sorted(k for k in extra if k not in ("tool_choice", "response_format"))
    shown = [k for k in ignored if _HEADER_SAFE.match(k)]
    if len(shown) < len(ignored):
        shown.append(f"({len(ignored) - len(shown)} other fields)")
    return Options(
        stop=stop,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        append_sources=default_sources if body.append_sources is None else body.append_sources,
        include_usage=bool(body.stream_options and body.stream_options.include_usage),
        ignored=shown,
    )


def _messages(body: OpenAIChatRequest) -> list[tuple[str, str]]:
    out = []
    for m in body.messages:
        parts = m.other_parts()
        if parts:
            raise _refuse(parts[0][:40], "only text content is read", "send the question as text")
        out.append((ROLE_ALIASES.get(m.role, m.role), m.text()))
    return out


# ---- the route --------------------------------------------------------------------------------
@router.post("/v1/chat/completions", summary="OpenAI: chat completion with citations")
async def chat_completions(body: OpenAIChatRequest, request: Request, services: ServicesDep) -> Any:
    settings = services.settings
    opts = options(body, settings.openai_append_sources)
    convo = split_messages(_messages(body), settings)
    if convo.system_ignored:
        opts.ignored.append("system messages")
    log_question(settings, convo.question, body.mode, "openai")
    count = token_counter(services.engine.embedder)
    headers = {**convo.headers(), IGNORED_HEADER: ", ".join(opts.ignored)}
    slots: AnswerSlots = request.app.state.answer_slots
    if not body.stream:
        async with slots.admit(convo.chars):
            result = await run_in_threadpool(
                services.answers.answer, convo.question, convo.history, body.mode, body.top_k
            )
        return JSONResponse(completion(result, convo, opts, count), headers=headers)
    ticket = await slots.acquire(convo.chars)
    try:
        events = services.answers.stream(convo.question, convo.history, body.mode, body.top_k)
        first, rest = await first_and_rest(events)
    except BaseException:
        ticket.release()
        raise
    reply = Reply(convo, opts, count, f"chatcmpl-{time.time_ns():x}")
    return ClosingStreamingResponse(
        reply.chunks(first, rest),
        on_close=ticket.release,
        media_type="text/event-stream",
        headers={**SSE_HEADERS, **headers},
    )


# ---- the response -----------------------------------------------------------------------------
def extras(result: AnswerResult, text: str, convo: Conversation, opts: Options) -> dict[str, Any]:
    """The fields an OpenAI response does not have: the citations in the text, and the
    answer's metadata (plus what this endpoint left out of the conversation)."""
    data = result.to_json()
    meta = {k: data[k] for k in data if k not in ("answer", "citations", "question")}
    meta["history_dropped"] = convo.dropped
    meta["ignored"] = opts.ignored
    return {
        "citations": [c.to_json() for c in used_citations(text, result.citations)],
        "kansai": meta,
    }


def _appendix(result: AnswerResult, text: str, opts: Options) -> str:
    if not opts.append_sources or result.mode == "draft":  # a draft lists its sources itself
        return ""
    listed = sources_text(used_citations(text, result.citations), result.lang)
    return f"\n\n{listed}" if listed else ""


def _usage(convo: Conversation, content: str, count: TokenCount) -> dict[str, int]:
    prompt = count(convo.question) + sum(count(m.content) for m in convo.history)
    done = count(content)
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}


def completion(
    result: AnswerResult, convo: Conversation, opts: Options, count: TokenCount
) -> dict[str, Any]:
    shaper = TextShaper(count, opts.stop, opts.max_tokens)
    text = shaper.feed(result.answer) + shaper.finish()
    content = text + _appendix(result, text, opts)
    return {
        "id": f"chatcmpl-{result.id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": shaper.finish_reason,
            }
        ],
        "usage": _usage(convo, content, count),
        **extras(result, text, convo, opts),
    }


class Reply:
    """One streamed completion: role chunk, text chunks, the last chunk with the citations,
    the usage chunk when asked for, ``[DONE]``. The joined text is what ``completion`` gives."""

    def __init__(self, convo: Conversation, opts: Options, count: TokenCount, cid: str) -> None:
        self.convo, self.opts, self.count, self.cid = convo, opts, count, cid
        self.shaper = TextShaper(count, opts.stop, opts.max_tokens)
        self.content = ""

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.cid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if self.opts.include_usage:
            out["usage"] = None
        return out

    def text(self, text: str) -> list[str]:
        self.content += text
        return [sse(self.chunk({"content": text}))] if text else []

    async def chunks(self, first: Event | None, rest: AsyncIterator[Event]) -> AsyncIterator[str]:
        yield sse(self.chunk({"role": "assistant", "content": ""}))
        try:
            if first is not None:
                for out in self.event(first):
                    yield out
            async for ev in rest:
                for out in self.event(ev):
                    yield out
        except AssistantError as exc:
            yield sse(error_body(exc.status_code, exc.code, exc.message, exc.hint))
        except Exception:
            log.exception("the completion stream failed")
            yield sse(error_body(500, "internal_error", "internal server error"))
        yield sse("[DONE]")

    def event(self, ev: Event) -> list[str]:
        if ev.kind != "final" or ev.result is None:
            return self.text(self.shaper.feed(ev.text))
        result = ev.result
        out = self.text(self.shaper.finish())
        if not self.shaper.cut and self.shaper.text != result.answer:
            # the deltas fell short of the final answer: send the rest (shaped the same way)
            if result.answer.startswith(self.shaper.text):
                rest = TextShaper(self.count, self.opts.stop, self.opts.max_tokens)
                whole = rest.feed(result.answer) + rest.finish()
                out += self.text(whole[len(self.shaper.text) :])
                self.shaper = rest
            else:
                log.warning("the streamed text differs from the final answer (answer engine)")
        text = self.shaper.text
        out += self.text(_appendix(result, text, self.opts))
        last = {
            **self.chunk({}, self.shaper.finish_reason),
            **extras(result, text, self.convo, self.opts),
        }
        out.append(sse(last))
        if self.opts.include_usage:
            usage = {
                **self.chunk({}),
                "choices": [],
                "usage": _usage(self.convo, self.content, self.count),
            }
            out.append(sse(usage))
        return out
