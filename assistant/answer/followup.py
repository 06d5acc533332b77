"""Resolving follow-up questions against the conversation before retrieval.

Deterministic (no model): a short or anaphoric question ("その予算は？", "what about its
budget?") is searched together with the topic of the previous user turn. With an LLM the
engine may ask it for a standalone rewrite instead (see :mod:`assistant.answer.engine`).
"""

from __future__ import annotations

import re

from assistant.answer.types import Message

_ANAPHORA = re.compile(
    r"^(その|それ|これ|この|あの|あれ|そこ|同じ|そちら|こちら|上記|前述|では|じゃあ|じゃ|なら|"
    r"他に|ほかに|また|あと|さらに|具体的に)|"
    r"(それ|その|これ|この|そこ)(は|の|に|を|が|で)|"
    r"\b(it|its|it's|that|this|those|these|they|them|their|there|the same|what about|how about|and)\b",
    re.IGNORECASE,
)
SHORT = 14  # characters: "予算は？" is a follow-up even without a pronoun


def needs_context(question: str) -> bool:
    q = question.strip()
    return bool(_ANAPHORA.search(q)) or len(q) <= SHORT


def previous_topic(history: list[Message]) -> str:
    """The last user question that was not itself only a follow-up, plus later follow-ups."""
    users = [m.content.strip() for m in history if m.role == "user" and m.content.strip()]
    if not users:
        return ""
    topic: list[str] = []
    for q in reversed(users):
        topic.insert(0, q)
        if not needs_context(q):
            break
    return " ".join(topic)


def rewrite(question: str, history: list[Message] | None) -> str:
    """The query to search for: the question, with its topic when it depends on the history."""
    if not history or not needs_context(question):
        return question.strip()
    topic = previous_topic(history)
    return f"{topic} {question.strip()}".strip() if topic else question.strip()
