"""Server-Sent Events helpers: format one event, and drive a sync iterator from a thread."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

T = TypeVar("T")

_DONE = object()


def sse(data: Any, event: str | None = None) -> str:
    """One SSE event; ``data`` is JSON-encoded unless it is already a string."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return head + "".join(f"data: {line}\n" for line in payload.split("\n")) + "\n"


async def first_and_rest(it: Iterator[T]) -> tuple[T | None, AsyncIterator[T]]:
    """Pull the first item in a thread (so its errors become a normal HTTP error), then the rest.

    Returns ``(None, empty)`` when the iterator is empty.
    """
    first = await run_in_threadpool(next, it, _DONE)
    if first is _DONE:
        return None, _empty()
    return first, _rest(it)  # type: ignore[return-value]


async def _rest(it: Iterator[T]) -> AsyncIterator[T]:
    while True:
        item = await run_in_threadpool(next, it, _DONE)
        if item is _DONE:
            return
        yield item  # type: ignore[misc]


async def _empty() -> AsyncIterator[Any]:
    return
    yield  # pragma: no cover


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class ClosingStreamingResponse(StreamingResponse):
    """A streaming response that always calls ``on_close`` when it ends, however it ends
    (finished, failed, or the client went away before the first chunk)."""

    def __init__(self, content: Any, on_close: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()
