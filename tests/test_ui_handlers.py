"""The web page's handlers over the real engine (fake embedder): what each tab returns."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.errors import UpstreamModelError
from assistant.llm.chat_model import ScriptedChatModel
from assistant.services import Services, build_services
from assistant.settings import Settings
from tests.answer_examples import EXAMPLES, Example
from tests.conftest import CORPUS_FILE, PROJECT
from ui import web
from ui.web import Handlers, Turn

QUESTION = "スタートアップ支援にはどのような取組みがありますか？"


def copy_corpus(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    for f in (PROJECT / "corpus").iterdir():
        if f.is_file():
            shutil.copy(f, corpus / f.name)
    assert (corpus / CORPUS_FILE.name).exists()
    return corpus


def make_services(root: Path, chat_model: ScriptedChatModel | None = None) -> Services:
    with pytest.MonkeyPatch.context() as mp:  # a developer's KANSAI_* must not leak in
        import os

        for name in [n for n in os.environ if n.startswith("KANSAI_")]:
            mp.delenv(name)
        settings = Settings(
            index_dir=root / "index",
            corpus_dir=root / "corpus" if (root / "corpus").exists() else copy_corpus(root),
            feedback_path=root / "feedback.jsonl",
            embedder="fake",
        )
    return build_services(settings, chat_model=chat_model)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    s = make_services(tmp_path_factory.mktemp("ui"))
    s.engine.ensure_index()
    return s


@pytest.fixture
def handlers(services: Services) -> Handlers:
    return Handlers(services)


def drain(gen: Iterator[tuple]) -> list[tuple]:  # type: ignore[type-arg]
    return list(gen)


def test_chat_streams_then_shows_linked_markers_and_sources(handlers: Handlers) -> None:
    steps = drain(handlers.chat(QUESTION, []))
    assert len(steps) >= 3  # the question, at least one streamed piece, the final answer
    first_msgs = steps[0][1]
    assert first_msgs[0] == {"role": "user", "content": QUESTION}
    partial = [s[1][1]["content"] for s in steps[1:-1]]
    assert partial and all("kva-cite" not in p for p in partial)
    cleared, msgs, panel, turns = steps[-1]
    assert cleared == ""
    assert len(turns) == 1 and turns[0].result is not None
    result = turns[0].result
    assert result.citations
    assert f'href="#kva-src-{result.id}-1"' in msgs[1]["content"]
    assert f'id="kva-src-{result.id}-1"' in panel
    assert "出典" in panel


def test_a_follow_up_keeps_the_conversation(handlers: Handlers) -> None:
    *_, (_, _, _, turns) = drain(handlers.chat(QUESTION, []))
    *_, (_, msgs, panel, turns2) = drain(handlers.chat("その予算はいくらですか？", turns))
    assert [t.question for t in turns2] == [QUESTION, "その予算はいくらですか？"]
    assert len(msgs) == 4
    hist = Handlers.history(turns2)
    assert [m.role for m in hist] == ["user", "assistant", "user", "assistant"]
    assert "以前の回答の出典" in panel  # the first answer's sources are still reachable


@pytest.mark.parametrize("ex", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_each_kind_of_question_on_the_page(handlers: Handlers, ex: Example) -> None:
    """The page shows what the engine answers: the same examples as tests/test_answer.py."""
    if ex.mode == "draft":
        text, *_ = drain(handlers.draft(ex.question))[-1]
        shown = text
    else:
        turns: list[Turn] = []
        if ex.history:  # the earlier question, answered by the page itself
            *_, (_, _, _, turns) = drain(handlers.chat(ex.history[0][1], []))
        *_, (_, msgs, _panel, turns) = drain(handlers.chat(ex.question, turns))
        result = turns[-1].result
        assert result is not None and result.grounded is ex.grounded
        shown = msgs[-1]["content"]
        if not ex.cited:
            assert "kva-cite" not in shown
    for s in ex.contains:
        assert s in shown, (s, shown)
    for s in ex.absent:
        assert s not in shown, (s, shown)


def test_empty_question_changes_nothing(handlers: Handlers) -> None:
    assert drain(handlers.chat("   ", [])) == [("", [], handlers.panel([]), [])]


def test_new_conversation_clears_everything(handlers: Handlers) -> None:
    assert handlers.new_conversation() == ("", [], web.render.EMPTY_PANEL, [])


def test_missing_index_is_a_friendly_error(tmp_path: Path) -> None:
    h = Handlers(make_services(tmp_path))  # no ensure_index
    assert "資料の索引がまだ作成されていません" in h.status()
    with pytest.warns(UserWarning, match="資料の索引がまだ作成されていません"):  # the toast
        *_, (_, msgs, _, turns) = drain(h.chat(QUESTION, []))
    assert turns[0].result is None
    assert "資料の索引がまだ作成されていません" in turns[0].error
    assert "kansai-assistant ingest" in turns[0].error  # the engine's hint
    assert 'class="kva-error"' in msgs[1]["content"] and "Traceback" not in msgs[1]["content"]
    assert Handlers.history(turns) == []  # a failed turn is not sent as history
    with pytest.raises(gr.Error, match="資料の索引"):
        h.support("食品", None, None, [], "")
    with pytest.raises(gr.Error, match="資料の索引"):
        drain(h.draft("スタートアップ支援について"))


def test_error_messages_are_escaped_for_the_modal() -> None:
    from assistant.errors import BadRequest

    err = web._fail(BadRequest("unknown mode '<b>x</b>'", "use chat"))
    assert "&lt;b&gt;" in err.message and "<b>" not in err.message
    assert web.user_message(RuntimeError("secret internals")) == web.UNEXPECTED


def test_unreachable_llm_gives_a_degraded_answer_notice(services: Services, tmp_path: Path) -> None:
    down = ScriptedChatModel(
        fail=UpstreamModelError("cannot reach the language model server", "start it")
    )
    s = build_services(services.settings, chat_model=down, embedder=services.engine.embedder)
    *_, (_, msgs, panel, turns) = drain(Handlers(s).chat(QUESTION, []))
    assert turns[0].result is not None and turns[0].result.degraded
    assert "言語モデルを利用できなかった" in panel
    assert "cannot reach the language model server" in panel
    assert "kva-cite" in msgs[1]["content"]


def test_thumbs_are_stored_in_the_feedback_store(handlers: Handlers, services: Services) -> None:
    *_, (_, _, _, turns) = drain(handlers.chat(QUESTION, []))
    before = len(services.feedback.all())
    handlers.feedback(turns, gr.LikeData(None, {"index": 1, "value": "x", "liked": True}))
    handlers.feedback(turns, gr.LikeData(None, {"index": 1, "value": "x", "liked": False}))
    rows = services.feedback.all()[before:]
    assert [(r["answer_id"], r["rating"]) for r in rows] == [
        (turns[0].result.id, "up"),
        (turns[0].result.id, "down"),
    ]
    assert rows[0]["question"] == QUESTION
    handlers.feedback([Turn("q", error="x")], gr.LikeData(None, {"index": 1, "value": "x"}))
    assert len(services.feedback.all()) == before + 2  # an error message cannot be rated


def test_support_form_returns_initiatives_with_reasons_and_sources(handlers: Handlers) -> None:
    out = handlers.support("食品", "京都府", "中小企業", ["海外展開"], "和菓子を製造")
    assert "検索した内容: 業種: 食品。地域: 京都府。規模: 中小企業。目的: 海外展開" in out
    assert "kva-cite" in out and "kva-source" in out
    assert "該当:" in out  # the matching reason of each initiative


def test_support_form_needs_something(handlers: Handlers) -> None:
    with pytest.raises(gr.Error):
        handlers.support(None, None, None, [], "")


def test_support_choices_come_from_the_catalogue(handlers: Handlers) -> None:
    v = handlers.vocabulary()
    assert "食品" in v["industries"] and "海外展開" in v["goals"] and "中小企業" in v["sizes"]
    assert "全業種" not in v["industries"]


def test_draft_streams_a_polite_reply_and_enables_saving(handlers: Handlers) -> None:
    steps = drain(handlers.draft("スタートアップ支援について教えていただけますか。"))
    assert len(steps) >= 2
    for _, _, txt_btn, md_btn in steps[:-1]:  # nothing to save while it streams
        assert txt_btn["interactive"] is False and md_btn["interactive"] is False
    text, sources, txt_btn, md_btn = steps[-1]
    assert text.startswith("〇〇様\n\nお問い合わせいただき")
    assert "【出典】" in text and "kva-source" in sources
    assert txt_btn["interactive"] is True and md_btn["interactive"] is True


def test_draft_needs_an_inquiry(handlers: Handlers) -> None:
    with pytest.raises(gr.Error):
        drain(handlers.draft(""))


def test_mounted_page_is_served_without_external_assets(services: Services) -> None:
    app = FastAPI()
    web.mount(app, services)
    with TestClient(app) as client:
        page = client.get("/ui/")
        assert page.status_code == 200
        config = client.get("/ui/config")
        assert config.status_code == 200
    body = page.text + config.text
    assert "関西ビジョン・アシスタント" in body
    for host in ("fonts.googleapis.com", "fonts.gstatic.com", "cdn.jsdelivr.net", "unpkg.com"):
        assert host not in body


def test_document_selector_lists_documents_and_limits_the_answer(tmp_path: Path) -> None:
    root = tmp_path / "two"
    corpus = copy_corpus(root)
    law = PROJECT / "corpus" / "related" / "338AC0000000154_20250401_506AC0000000023.html"
    (corpus / "related").mkdir()
    shutil.copy(law, corpus / "related" / law.name)
    s = make_services(root)
    s.engine.ensure_index()
    h = Handlers(s)
    choices = dict(h.document_choices())
    assert choices["中小企業基本法（2025-04-01 施行）"] == law.stem
    assert CORPUS_FILE.stem in choices.values()
    *_, last = h.chat("中小企業の施策は？", [], [law.stem])
    turns = last[3]
    result = turns[-1].result
    assert result is not None
    assert {c.doc_id for c in result.citations} <= {law.stem}
    assert {p["doc_id"] for p in result.to_json()["nearest"]} <= {law.stem}


def test_a_too_long_question_stays_in_the_box_with_a_japanese_message(handlers: Handlers) -> None:
    limit = handlers.services.settings.max_question_chars
    long_q = "関西の産業について" + "あ" * (limit + 100)
    with pytest.warns(UserWarning, match=r"質問が長すぎます（2,109文字。上限は2,000文字です）"):
        steps = drain(handlers.chat(long_q, []))
    assert steps == [(long_q, [], handlers.panel([]), [])]  # the text is kept, no turn added
    assert handlers.too_long("短い") == ""


def test_a_zero_width_question_is_empty(handlers: Handlers) -> None:
    assert drain(handlers.chat("\u200b\ufeff ", [])) == [("", [], handlers.panel([]), [])]


def test_the_support_form_offers_students(handlers: Handlers) -> None:
    assert "学生" in handlers.vocabulary()["sizes"]
    out = handlers.support(None, None, "学生", ["起業"], "大学で研究しています。")
    assert "検索した内容: 規模: 学生。目的: 起業。補足: 大学で研究しています。</div>" in out
    assert "。。" not in out.split("</div>", 1)[0]


def test_answers_carry_a_plain_text_copy(handlers: Handlers) -> None:
    *_, (_, msgs, _, _) = drain(handlers.chat(QUESTION, []))
    body = msgs[1]["content"]
    assert 'class="kva-copy"' in body and 'class="kva-plain"' in body
    plain = body.split('class="kva-plain">', 1)[1].split("</span>", 1)[0]
    assert "kva-cite" not in plain and "[1]" in plain and "出典:" in plain
