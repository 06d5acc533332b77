"""The evidence-first prompt and the repair with the real local model (few, short: CI runs
them after `make local-llm`; elsewhere they skip)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from assistant.answer.guard import Guard, clean_model_text
from assistant.answer.prompts import evidence_messages
from assistant.answer.text import split_answer
from assistant.answer.types import Mode
from assistant.embedding.fake import HashingEmbedder
from assistant.retrieval.searcher import Passage
from assistant.text.tokenizer import get_tokenizer
from eval.bench.llm_answers import in_english

VALUES = Passage(
    "v",
    "kansai-industrial-vision-2023",
    "関西広域産業ビジョン(2023年改訂版)",
    "関西広域連合の4つのバリュー",
    {},
    "",
    1.0,
)
LINES = [
    "関西広域連合は、固有の4つのバリュー(存在価値)を発揮する。",
    "スケールメリット(規模の経済、域内最適化)",
    "シナジー(協働、相乗、相互補完)",
    "スピルオーバー(波及、浸透)",
    "ダイバーシティ(多様性、地域特性)",
]


@pytest.mark.slow
@pytest.mark.llm
def test_the_real_model_answers_from_the_evidence_in_the_question_language(
    tmp_path: Path,
) -> None:
    from tests.conftest import require_local_llm

    require_local_llm()
    from assistant.llm.chat_model import OpenAIChatModel
    from assistant.llm.local_model import QWEN_CODER_1_5B
    from assistant.llm.server import LlamaServer, running
    from assistant.settings import Settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    gguf = QWEN_CODER_1_5B.ensure(Settings().local_llm_cache)
    server = LlamaServer(
        gguf, QWEN_CODER_1_5B.name, port, n_ctx=2048, n_threads=min(2, os.cpu_count() or 1)
    )
    passage = Passage(**{**VALUES.__dict__, "text": "\n".join(LINES)})
    guard = Guard(get_tokenizer("sudachi"), HashingEmbedder())
    with running(server.command(), server.base_url, tmp_path / "llm.log", 300) as llm:
        model = OpenAIChatModel(llm.base_url, llm.model_id, timeout=600, max_tokens=96)
        for question, lang in (("4つのバリューは？", "ja"), ("What are the four values?", "en")):
            raw = model.complete(
                evidence_messages(question, [(1, passage, LINES)], lang, Mode.chat)
            )
            session = guard.session([passage])
            shown = "".join(session.feed(clean_model_text(u)) for u in split_answer(raw))
            assert session.kept_claims >= 1, (raw, session.removed)
            assert "<" not in shown and "&" not in shown and "[1][1]" not in shown, raw
            assert "[1]" in shown  # given by the model or by the repair
            if lang == "ja":
                assert "シナジー" in shown, raw
            else:
                assert in_english(raw), raw
