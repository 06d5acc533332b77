"""The LLM generator through the answer engine, against the scripted fake chat model: what the
model writes is repaired, checked, streamed, and replaced by the extractive answer (degraded,
with the reason) when too little survives. Real corpus, real Sudachi, hashing embedder."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.answer.engine import AnswerEngine
from assistant.answer.llm_answer import MAX_LEADING_DROPS
from assistant.answer.types import AnswerResult
from assistant.embedding.fake import HashingEmbedder
from assistant.engine import Engine
from assistant.llm.chat_model import ChatMessages, ScriptedChatModel
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
BATTERY = "蓄電池人材の育成は？"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    corpus = tmp_path_factory.mktemp("corpus")
    for name in (
        "kansai-industrial-vision-2023.txt",
        "kansai-industrial-vision-2023.meta.json",
        "support-catalogue.json",
    ):
        shutil.copy(ROOT / "corpus" / name, corpus / name)
    settings = Settings(
        index_dir=tmp_path_factory.mktemp("index"), corpus_dir=corpus, embedder="fake"
    )
    eng = Engine(settings, embedder_override=HashingEmbedder())
    eng.ensure_index()
    return eng


def _n(messages: ChatMessages, needle: str) -> int:
    """The number the prompt's evidence gives the passage with ``needle`` (the question's
    message only: the worked examples come before it)."""
    for m in re.finditer(
        r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', messages[-1]["content"], re.S
    ):
        if needle in m.group(2):
            return int(m.group(1))
    raise AssertionError(f"{needle!r} is not in the evidence: {messages[-1]['content']}")


def _ask(
    engine: Engine, fn: Callable[[ChatMessages], str], q: str = BATTERY
) -> tuple[AnswerResult, ScriptedChatModel]:
    model = ScriptedChatModel(fn=fn)
    return AnswerEngine(engine, chat_model=model).answer(q), model


def _check_citations(res: AnswerResult) -> None:
    used = {int(n) for n in re.findall(r"\[(\d+)\]", res.answer)}
    assert used == {c.n for c in res.citations}, res.answer
    assert [c.n for c in res.citations] == list(range(1, len(res.citations) + 1))


SENTENCE = "関西のリソース集積を活かした、成長分野を支える蓄電池人材の育成が挙げられています"


def test_the_model_sees_the_evidence_lines_not_whole_passages(engine: Engine) -> None:
    res, model = _ask(engine, lambda m: f"{SENTENCE}[{_n(m, '蓄電池人材')}]。")
    user = model.calls[0][-1]["content"]
    assert res.backend == "openai" and not res.degraded, res.degraded_reason
    assert user.count("<passage ") <= 6 and len(user) < 1500, user
    assert "質問: 蓄電池人材の育成" in user


def test_markup_entities_and_doubled_markers_are_repaired(engine: Engine) -> None:
    def script(m: ChatMessages) -> str:
        n = _n(m, "蓄電池人材")
        return f"</passage>[{n}]\n{SENTENCE}[{n}][{n}]。\n&lt;/passages&gt;[{n}]"

    res, _ = _ask(engine, script)
    assert res.backend == "openai" and not res.degraded
    assert res.answer.startswith(SENTENCE) and res.answer.count("[1]") == 1, res.answer
    for junk in ("<", ">", "&lt;", "&gt;", "passage", "[1][1]"):
        assert junk not in res.answer
    _check_citations(res)


def test_sentences_without_markers_get_the_supporting_passage(engine: Engine) -> None:
    res, _ = _ask(engine, lambda m: f"{SENTENCE}。")
    assert res.backend == "openai" and res.grounded and not res.degraded
    assert res.answer.startswith(SENTENCE) and res.answer.rstrip().endswith("[1]")
    assert "蓄電池人材" in res.citations[0].quote
    _check_citations(res)


def test_a_marker_arriving_after_its_sentence_is_attached_once(engine: Engine) -> None:
    """The fake streams four characters at a time: 「…います。」 then 「[1]」 in a later delta."""
    res, _ = _ask(engine, lambda m: f"{SENTENCE}。[{_n(m, '蓄電池人材')}]")
    assert re.fullmatch(re.escape(SENTENCE) + r"。\[1\]\s*", res.answer), res.answer


def test_invented_sentences_are_dropped_and_listed(engine: Engine) -> None:
    def script(m: ChatMessages) -> str:
        n = _n(m, "蓄電池人材")
        return f"{SENTENCE}[{n}]。申請は各府県の窓口で毎年4月に受け付けています[{n}]。"

    res, _ = _ask(engine, script)
    assert res.backend == "openai" and res.grounded
    assert "窓口" not in res.answer and "4月" not in res.answer
    assert any("窓口" in r.sentence and r.kind == "unsupported" for r in res.removed)


def test_too_little_surviving_gives_the_extractive_answer_with_the_reason(engine: Engine) -> None:
    invented = [
        "申請は各府県の窓口で毎年4月に受け付けています[1]。",
        "補助率は3分の2で上限は500万円です[1]。",
        "対象は従業員300人以下の企業に限られます[1]。",
        f"{SENTENCE}[1]。",
    ]
    res, _ = _ask(engine, lambda m: "".join(invented))
    extractive = AnswerEngine(engine).answer(BATTERY)
    assert res.degraded and res.backend == "extractive"
    assert f"first {MAX_LEADING_DROPS} sentences" in res.degraded_reason
    assert res.answer == extractive.answer and res.grounded
    assert len([r for r in res.removed if r.kind == "unsupported"]) == MAX_LEADING_DROPS
    assert "窓口" not in res.answer and "500万円" not in res.answer
    _check_citations(res)


LOOP = "福井県、三重県を加えた"


@pytest.mark.parametrize("first", ["", f"{SENTENCE}[1]。"])
def test_a_model_repeating_itself_is_stopped_and_its_loop_never_shown(
    engine: Engine, first: str
) -> None:
    stuck = first + "「関西(広域経済圏)」は、" + LOOP * 200  # a loop until max_tokens
    res, model = _ask(engine, lambda m: stuck)
    assert model.sent[0] < len(stuck) / 4, "the generation was not stopped"
    assert LOOP * 2 not in res.answer
    assert any(r.kind == "markup" and "repeated" in r.reason for r in res.removed)
    if first:  # what was checked before the loop stays the answer
        assert res.backend == "openai" and SENTENCE in res.answer
    else:
        assert res.degraded and res.backend == "extractive"
        assert "repeated the same words" in res.degraded_reason
    _check_citations(res)


def test_a_looping_sentence_that_ends_is_dropped_too(engine: Engine) -> None:
    res, _ = _ask(engine, lambda m: f"{SENTENCE}[1]。{LOOP * 5}[1]。")
    assert res.backend == "openai" and LOOP * 2 not in res.answer
    assert any("repeated" in r.reason for r in res.removed)


def test_an_answer_of_only_framing_falls_back_too(engine: Engine) -> None:
    res, _ = _ask(engine, lambda m: "お問い合わせありがとうございます。以下のとおりです。")
    assert res.degraded and res.backend == "extractive"
    assert "removed every sentence" in res.degraded_reason
    assert res.answer == AnswerEngine(engine).answer(BATTERY).answer


def test_the_model_saying_not_in_the_documents_abstains(engine: Engine) -> None:
    res, _ = _ask(engine, lambda m: "資料には記載がありません。")
    assert not res.grounded and res.citations == []


def test_a_part_the_model_says_is_missing_is_not_shown_but_the_rest_is(engine: Engine) -> None:
    def script(m: ChatMessages) -> str:
        return f"{SENTENCE}[{_n(m, '蓄電池人材')}]。予算は資料には記載がありません。"

    res, _ = _ask(engine, script)
    assert res.backend == "openai" and res.grounded and not res.degraded
    assert res.answer.startswith(SENTENCE) and "予算は資料には" not in res.answer


def test_an_english_question_is_asked_for_an_english_answer(engine: Engine) -> None:
    def script(m: ChatMessages) -> str:
        return "The documents name battery talent development (「蓄電池人材の育成」) [1]."

    res, model = _ask(engine, script, "What does the vision say about training battery talent?")
    user = model.calls[0][-1]["content"] if model.calls else ""
    assert "Question (answer in English)" in user and "quote Japanese names" in user
    assert res.lang == "en"
