"""Everything an adapter (HTTP API, web page, CLI) needs, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answer.engine import AnswerEngine
from assistant.embedding.base import Embedder
from assistant.engine import Engine
from assistant.feedback import FeedbackStore
from assistant.llm.chat_model import ChatModel
from assistant.settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: Engine
    answers: AnswerEngine
    feedback: FeedbackStore


def build_services(
    settings: Settings, chat_model: ChatModel | None = None, embedder: Embedder | None = None
) -> Services:
    engine = Engine(settings, embedder_override=embedder)
    return Services(
        settings=settings,
        engine=engine,
        answers=AnswerEngine(engine, chat_model=chat_model),
        feedback=FeedbackStore(settings.feedback_path),
    )
