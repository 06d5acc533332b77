"""A bound on generations in flight: when the model is busy, say so at once instead of queueing.

A local llama.cpp server decodes one answer per slot; a further request waits inside the
server until the current answer is done (a minute on 2 cores for a long one). Wrapping the
chat model in :class:`BoundedChatModel` turns that wait into :class:`~assistant.errors.ModelBusy`
after at most ``wait_s``, and the answer engine's fallback gives the extractive answer
(``degraded``, with the reason) instead. The bound is per process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from assistant.errors import ModelBusy
from assistant.llm.chat_model import ChatMessages, ChatModel

log = logging.getLogger(__name__)


class BoundedChatModel:
    """At most ``max_in_flight`` streams of ``inner`` at once; others fail fast with ModelBusy.

    A slot is held from the first ``next()`` of :meth:`stream` until the stream ends, fails
    or is closed (an abandoned generator releases it when it is collected).
    """

    def __init__(self, inner: ChatModel, max_in_flight: int, wait_s: float = 0.5) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be 1 or more (0 means: do not wrap)")
        self.inner = inner
        self.name = inner.name
        self.max_in_flight = max_in_flight
        self.wait_s = wait_s
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._count_lock = threading.Lock()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def stream(self, messages: ChatMessages) -> Iterator[str]:
        if not self._slots.acquire(timeout=self.wait_s):
            log.info("language model busy (%d in flight): not queueing", self.max_in_flight)
            raise ModelBusy(
                f"the language model is busy ({self.max_in_flight} answer(s) in progress)",
                "this answer was written without it; ask again in a moment, or raise "
                "KANSAI_LLM_MAX_IN_FLIGHT (with more llm-server slots: --parallel)",
            )
        with self._count_lock:
            self._in_flight += 1
        try:
            yield from self.inner.stream(messages)
        finally:
            with self._count_lock:
                self._in_flight -= 1
            self._slots.release()

    def complete(self, messages: ChatMessages) -> str:
        return "".join(self.stream(messages))

    def __getattr__(self, name: str) -> Any:
        # ping(), base_url, model …: whatever the wrapped model offers
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)
