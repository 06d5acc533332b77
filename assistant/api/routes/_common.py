"""Helpers shared by the chat routes (JSON API and OpenAI protocol)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from assistant.answer.engine import history_from
from assistant.answer.types import Message
from assistant.api.inputs import clean_question
from assistant.api.logs import log_safe
from assistant.errors import BadRequest
from assistant.settings import Settings

log = logging.getLogger("assistant.api.chat")

HISTORY_ITEM_FACTOR = 4  # a history message may be this many times max_question_chars
HISTORY_HEADER = "X-Kansai-History-Dropped"


@dataclass
class Conversation:
    """The question, the newest turns of history that fit, and what was left out."""

    question: str
    history: list[Message]
    dropped: int = 0  # older history messages left out (too many, or one too long)
    system_ignored: int = 0  # system/developer messages (the assistant keeps its own rules)

    @property
    def chars(self) -> int:
        return len(self.question) + sum(len(m.content) for m in self.history)

    def headers(self) -> dict[str, str]:
        return {HISTORY_HEADER: str(self.dropped)}


def check_question(raw: str, settings: Settings, what: str = "question") -> str:
    """The cleaned question (zero-width characters out); 400 when empty or too long."""
    question = clean_question(raw)
    if not question:
        raise BadRequest(f"the {what} is empty", f"type a {what}")
    if len(question) > settings.max_question_chars:
        raise BadRequest(
            f"the {what} is too long ({len(question)} characters; the limit is "
            f"{settings.max_question_chars})",
            f"shorten the {what}",
        )
    return question


def split_messages(messages: list[tuple[str, str]], settings: Settings) -> Conversation:
    """The last user message is the question; the newest earlier turns that fit are the history.

    A long conversation is never refused: the oldest messages are left out (at most
    ``max_messages`` in all, each at most ``HISTORY_ITEM_FACTOR × max_question_chars``
    characters; the first one too long ends the history) and ``dropped`` says how many.
    """
    role, raw = messages[-1]
    if role != "user":
        raise BadRequest(
            "the last message must be the user's question (role 'user')",
            "end the messages with the question",
        )
    question = check_question(raw, settings)
    earlier = messages[:-1]
    system = sum(1 for r, _ in earlier if r == "system")
    turns = [(r, c) for r, c in earlier if r != "system"]
    limit = settings.max_question_chars * HISTORY_ITEM_FACTOR
    kept: list[tuple[str, str]] = []
    for r, c in reversed(turns):
        if len(kept) >= settings.max_messages - 1 or len(c) > limit:
            break
        kept.append((r, c))
    kept.reverse()
    history = history_from([{"role": r, "content": c} for r, c in kept])
    return Conversation(question, history, len(turns) - len(kept), system)


def log_question(settings: Settings, question: str, mode: str, route: str) -> None:
    extra = {"mode": mode, "chars": len(question), "event": route}
    if settings.log_questions:
        extra["question"] = question  # type: ignore[assignment]
        log.info("%s question (%s): %s", route, mode, log_safe(question), extra=extra)
    else:
        log.info("%s question (%s, %d chars)", route, mode, len(question), extra=extra)
