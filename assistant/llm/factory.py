"""The chat model the settings ask for, bounded so that a busy model never makes a user wait."""

from __future__ import annotations

from urllib.parse import urlsplit

from assistant.llm.bounded import BoundedChatModel
from assistant.llm.chat_model import ChatModel, OpenAIChatModel
from assistant.settings import GeneratorKind, Settings

REMOTE_IN_FLIGHT = 8  # a hosted API serves many at once; this only stops a pile-up


def is_loopback(base_url: str) -> bool:
    host = (urlsplit(base_url).hostname or "").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")


def max_in_flight(settings: Settings) -> int:
    """KANSAI_LLM_MAX_IN_FLIGHT, or automatic: the local server's slots, or 8 for a remote API."""
    if settings.llm_max_in_flight is not None:
        return settings.llm_max_in_flight
    if is_loopback(settings.llm_base_url):
        return settings.local_llm_parallel
    return REMOTE_IN_FLIGHT


def bounded(model: ChatModel, settings: Settings) -> ChatModel:
    """``model`` behind the in-flight bound of ``settings`` (unchanged when the bound is 0)."""
    limit = max_in_flight(settings)
    if limit == 0 or isinstance(model, BoundedChatModel):
        return model
    return BoundedChatModel(model, limit, settings.llm_busy_wait_s)


def chat_model_from_settings(settings: Settings) -> ChatModel | None:
    """The OpenAI-compatible chat model for ``KANSAI_GENERATOR=openai`` (None when extractive)."""
    if settings.generator is not GeneratorKind.openai:
        return None
    model = OpenAIChatModel(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else "",
        timeout=settings.llm_timeout_s,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
    )
    return bounded(model, settings)
