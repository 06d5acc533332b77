"""Helpers shared by the chat routes (JSON API and OpenAI protocol)."""

from __future__ import annotations

import logging

from assistant.answer.engine import history_from
from assistant.answer.types import Message
from assistant.errors import BadRequest
from assistant.settings import Settings

log = logging.getLogger("assistant.api.chat")

HISTORY_ITEM_FACTOR = 4  # a history message may be this many times max_question_chars


def split_messages(
    messages: list[tuple[str, str]], settings: Settings
) -> tuple[str, list[Message]]:
    """The last user message is the question; the ones before it are the history."""
    if len(messages) > settings.max_messages:
        raise BadRequest(
            f"too many messages ({len(messages)}; the limit is {settings.max_messages})",
            "send only the last turns of the conversation",
        )
    role, question = messages[-1]
    if role != "user":
        raise BadRequest("the last message must be the user's question (role 'user')")
    limit = settings.max_question_chars * HISTORY_ITEM_FACTOR
    for _, content in messages[:-1]:
        if len(content) > limit:
            raise BadRequest(
                f"a history message is too long ({len(content)} characters; the limit is {limit})"
            )
    history = history_from([{"role": r, "content": c} for r, c in messages[:-1]])
    return question, history


def log_question(settings: Settings, question: str, mode: str, route: str) -> None:
    extra = {"mode": mode, "chars": len(question), "event": route}
    if settings.log_questions:
        extra["question"] = question  # type: ignore[assignment]
        log.info("%s question (%s): %s", route, mode, question, extra=extra)
    else:
        log.info("%s question (%s, %d chars)", route, mode, len(question), extra=extra)
