"""The chat-model seam: ``stream(messages) -> deltas`` (``complete`` joins them).

:class:`OpenAIChatModel` speaks to any OpenAI-compatible server through the official
``openai`` client; :class:`ScriptedChatModel` is the deterministic fake used in tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

from assistant.errors import UpstreamModelError, UpstreamTimeout

ChatMessages = list[dict[str, str]]


class ChatModel(Protocol):
    name: str

    def stream(self, messages: ChatMessages) -> Iterator[str]: ...

    def complete(self, messages: ChatMessages) -> str: ...


class OpenAIChatModel:
    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 60.0,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> None:
        import httpx
        from openai import OpenAI

        self.base_url = base_url
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature
        self._client = OpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            max_retries=0,
        )

    def _model(self) -> str:
        if self.model:
            return self.model
        try:  # a local server with one model: use it
            models = self._client.models.list()
            self.model = models.data[0].id
        except Exception as exc:
            raise _translate(exc) from exc
        return self.model

    def stream(self, messages: ChatMessages) -> Iterator[str]:
        import openai

        try:
            resp = self._client.chat.completions.create(
                model=self._model(),
                messages=messages,  # type: ignore[arg-type]
                stream=True,
                max_tokens=self.max_tokens,
                temperature=self.temperature,
            )
            finished = False
            for chunk in resp:
                choices = getattr(chunk, "choices", None)
                if choices and choices[0].delta and choices[0].delta.content:
                    yield choices[0].delta.content
                if choices and choices[0].finish_reason:
                    finished = True
            if not finished:  # the connection closed before the model said it was done
                raise UpstreamModelError(
                    "the language model stream ended before the answer was complete",
                    "check the model server and its log",
                )
        except openai.OpenAIError as exc:
            raise _translate(exc) from exc
        except Exception as exc:  # httpx errors surfacing mid-stream
            raise _translate(exc) from exc

    def complete(self, messages: ChatMessages) -> str:
        return "".join(self.stream(messages))

    def ping(self) -> None:
        try:
            self._client.models.list()
        except Exception as exc:
            raise _translate(exc) from exc


def _translate(exc: Exception) -> UpstreamModelError:
    import openai

    if isinstance(exc, UpstreamModelError):
        return exc
    if isinstance(exc, openai.APITimeoutError) or "timeout" in type(exc).__name__.lower():
        return UpstreamTimeout(
            "the language model server did not answer in time",
            "check it is running, or raise KANSAI_LLM_TIMEOUT_S",
        )
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamModelError(
            "cannot reach the language model server",
            "start it (e.g. `kansai-assistant llm-server`) or check KANSAI_LLM_BASE_URL",
        )
    if isinstance(exc, openai.AuthenticationError):
        return UpstreamModelError(
            "the language model server refused the API key", "check KANSAI_LLM_API_KEY"
        )
    if isinstance(exc, openai.APIStatusError):
        return UpstreamModelError(
            f"the language model server answered HTTP {exc.status_code}",
            "check KANSAI_LLM_MODEL and the server log",
        )
    return UpstreamModelError(
        f"the language model failed ({type(exc).__name__})", "check the server log"
    )


class ScriptedChatModel:
    """Answers from a queue (or a function of the messages); can fail or stall on purpose."""

    name = "scripted"

    def __init__(
        self,
        answers: list[str] | None = None,
        fn: Callable[[ChatMessages], str] | None = None,
        delay_s: float = 0.0,
        fail: Exception | None = None,
        fail_after_chars: int | None = None,
    ) -> None:
        self.answers = list(answers or [])
        self.fn = fn
        self.delay_s = delay_s
        self.fail = fail
        self.fail_after_chars = fail_after_chars
        self.calls: list[ChatMessages] = []
        self.sent: list[int] = []  # characters streamed per call (so a test sees a stop)
        self._lock = threading.Lock()

    def stream(self, messages: ChatMessages) -> Iterator[str]:
        with self._lock:
            self.calls.append(messages)
            if self.fail is not None and self.fail_after_chars is None:
                raise self.fail
            text = self.fn(messages) if self.fn else (self.answers.pop(0) if self.answers else "")
            self.sent.append(0)
            call = len(self.sent) - 1
        sent = 0
        for piece in _pieces(text):
            if self.delay_s:
                time.sleep(self.delay_s)
            if (
                self.fail is not None
                and self.fail_after_chars is not None
                and sent >= self.fail_after_chars
            ):
                raise self.fail
            sent += len(piece)
            self.sent[call] = sent
            yield piece

    def complete(self, messages: ChatMessages) -> str:
        return "".join(self.stream(messages))


def _pieces(text: str, size: int = 4) -> Iterator[str]:
    for i in range(0, len(text), size):
        yield text[i : i + size]
