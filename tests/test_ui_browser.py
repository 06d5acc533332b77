"""The web page in a real browser: Debian's Chromium driven by Playwright, fully offline.

Each test opens the page served by a FastAPI app on 127.0.0.1 (the Gradio Blocks mounted at
/ui like the product's API does) and records every request to another host: there must be none.
Screenshots go to test-artifacts/. Without Chromium these tests skip, except in CI (CI=true)
where a missing browser is a failure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from fastapi import FastAPI

from assistant.answer.engine import Event
from assistant.answer.types import AnswerResult, Citation, Message, Removed
from assistant.services import Services
from tests.conftest import PROJECT
from tests.test_ui_handlers import make_services
from ui import web

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("KANSAI_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = PROJECT / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
TIMEOUT_MS = 60_000
QUESTION = "スタートアップ支援にはどのような取組みがありますか？"
DEAD_PORT = 9  # what the probe's links and images pointed at: nothing may fetch it


def _unavailable(why: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser tests need Chromium in CI: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


# ---- servers -----------------------------------------------------------------------------
def serve(services: Services) -> Iterator[str]:
    """The page mounted on a fresh FastAPI app, served by uvicorn in a thread."""
    from tests.test_api_harness import live_server

    app = FastAPI()
    web.mount(app, services)
    with live_server(app) as base:
        yield f"{base}/ui/"


@pytest.fixture(scope="module")
def site_services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    s = make_services(tmp_path_factory.mktemp("site"))
    s.engine.ensure_index()
    return s


@pytest.fixture(scope="module")
def site(site_services: Services, browser: Any) -> Iterator[str]:
    yield from serve(site_services)


@pytest.fixture(scope="module")
def no_index_site(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[str]:
    yield from serve(make_services(tmp_path_factory.mktemp("noindex")))


EVIL = '<script>window.__kvaPwned = 1</script><img src="x" onerror="window.__kvaPwned = 2">'


class HostileAnswers:
    """A fake answer engine whose documents and answer contain markup (document text is data)."""

    evil = EVIL

    def stream(
        self,
        question: str,
        history: list[Message] | None = None,
        mode: str = "chat",
        top_k=None,
        documents=None,
    ) -> Iterator[Event]:
        evil = self.evil
        text = f"資料には{evil}と書かれています[1]。"
        res = AnswerResult(
            question=question,
            answer=text,
            grounded=True,
            citations=[
                Citation(
                    n=1,
                    doc_id="evil",
                    title=f"危険な資料{evil}",
                    section=f"第1章{evil}",
                    position={"line_start": 1, "line_end": 2},
                    text=f"前置き。資料には{evil}と書かれています。後書き。",
                    score=1.0,
                    quote=f"資料には{evil}と書かれています。",
                )
            ],
            removed=[Removed(f"削除された{evil}", f"reason {evil}", "unsupported")],
            backend="fake",
            mode=mode,
            timings_ms={},
        )
        yield Event("delta", text)
        yield Event("final", result=res)

    def answer(
        self, question: str, history=None, mode: str = "chat", top_k=None, documents=None
    ) -> AnswerResult:
        return next(e.result for e in self.stream(question, history, mode) if e.result)


@pytest.fixture(scope="module")
def hostile_site(site_services: Services, browser: Any) -> Iterator[str]:
    s = Services(
        settings=site_services.settings,
        engine=site_services.engine,
        answers=HostileAnswers(),  # type: ignore[arg-type]
        feedback=site_services.feedback,
    )
    yield from serve(s)


# ---- pages -------------------------------------------------------------------------------
@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="ja-JP", viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    external: list[str] = []

    def record(request: Any) -> None:
        url = urlparse(request.url)
        if request.url.startswith(("http:", "https:", "ws:", "wss:")) and (
            url.hostname != "127.0.0.1" or url.port == DEAD_PORT
        ):
            external.append(request.url)

    pg.on("request", record)
    yield pg
    context.close()
    assert external == [], f"the page made external requests: {external}"


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def ask(page: Any, question: str) -> None:
    box = page.locator("#kva-question textarea")
    box.fill(question)
    box.press("Enter")


def bot_messages(page: Any) -> Any:
    return page.locator('#kva-chat [data-testid="bot"]')


# ---- tests -------------------------------------------------------------------------------
def test_chat_answer_with_numbered_sources_and_feedback(
    page: Any, site: str, site_services: Services
) -> None:
    page.goto(site)
    page.get_by_text("関西ビジョン・アシスタント").first.wait_for()
    ask(page, QUESTION)
    marker = page.locator("#kva-chat a.kva-cite").first
    marker.wait_for()
    answer = bot_messages(page).last.inner_text()
    assert "[1]" in answer and "スタートアップ" in answer
    panel = page.locator("#kva-panel")
    assert panel.locator("details.kva-source").count() >= 1
    assert panel.locator(".kva-source .kva-n").first.inner_text() == "[1]"
    assert "関西広域産業ビジョン" in panel.locator(".kva-title").first.inner_text()

    marker.click()  # a marker opens and highlights its source, with the cited sentence marked
    target = panel.locator("details.kva-source.kva-active")
    target.wait_for()
    assert "#" + (target.get_attribute("id") or "") == marker.get_attribute("href")
    assert target.evaluate("e => e.open") is True
    assert target.locator("mark.kva-quote").first.is_visible()
    shot(page, "ui-chat.png")

    before = len(site_services.feedback.all())
    page.locator("#kva-chat").get_by_role("button", name="いいね").last.click()
    deadline = time.monotonic() + 10
    while len(site_services.feedback.all()) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    row = site_services.feedback.all()[-1]
    assert row["rating"] == "up" and row["question"] == QUESTION
    assert row["answer_id"] in (marker.get_attribute("href") or "")


def test_example_question_then_a_new_conversation(page: Any, site: str) -> None:
    page.goto(site)
    page.locator(".kva-example").first.click()
    page.locator("#kva-chat a.kva-cite").first.wait_for()
    assert page.locator('#kva-chat [data-testid="user"]').count() == 1
    ask(page, "その予算はいくらですか？")
    page.wait_for_function(
        "() => document.querySelectorAll('#kva-chat [data-testid=\"bot\"]').length === 2"
    )
    page.locator("#kva-new").click()
    page.locator("#kva-panel .kva-empty").wait_for()
    assert page.locator('#kva-chat [data-testid="user"]').count() == 0


def test_support_form_finds_initiatives(page: Any, site: str) -> None:
    page.goto(site)
    page.get_by_role("tab", name="支援を探す").click()
    page.locator("#kva-industry input").fill("食品")
    page.locator("#kva-industry input").press("Enter")
    page.locator("#kva-goals").get_by_label("海外展開").check()
    page.locator("#kva-goals").get_by_label("販路開拓").check()
    page.locator("#kva-note textarea").fill("京都で和菓子を製造しています。")
    page.locator("#kva-find").click()
    out = page.locator("#kva-support-out")
    out.locator("details.kva-source").first.wait_for()
    text = out.inner_text()
    assert (
        "検索した内容: 業種: 食品。目的: 海外展開、販路開拓。補足: 京都で和菓子を製造しています。"
        in text
    )
    assert "ご相談の内容に関係しそうな取組み・事業" in text
    assert "該当:" in text
    out.locator("a.kva-cite").first.click()
    out.locator("details.kva-source.kva-active").wait_for()
    shot(page, "ui-support.png")


def test_draft_tab_makes_an_editable_reply_to_download(page: Any, site: str) -> None:
    page.goto(site)
    page.get_by_role("tab", name="回答案を作る").click()
    assert page.locator("#kva-dl-txt").is_disabled()  # nothing to save yet
    page.locator("#kva-inquiry textarea").fill(
        "貴連合のスタートアップ支援の取組みについて教えていただけますか。"
    )
    page.locator("#kva-make").click()
    page.locator("#kva-draft-sources details.kva-source").first.wait_for()
    draft = page.locator("#kva-draft textarea")
    assert draft.input_value().startswith(
        "〇〇様\n\nお問い合わせいただき、誠にありがとうございます。"
    )
    assert "【出典】" in draft.input_value()
    assert page.locator("#kva-draft").get_by_role("button").count() >= 1  # copy
    shot(page, "ui-draft.png")

    draft.press("Control+End")
    draft.type("\n担当: 産業振興課")
    # saved at once after the last keystroke: the file is made from the text box at the click
    with page.expect_download() as dl:
        page.locator("#kva-dl-txt").click()
    saved = Path(dl.value.path()).read_text(encoding="utf-8")
    assert dl.value.suggested_filename == "回答案.txt"
    assert saved == draft.input_value().rstrip() + "\n"
    assert saved.startswith("〇〇様\n") and saved.endswith("\n担当: 産業振興課\n")
    with page.expect_download() as dl_md:
        page.locator("#kva-dl-md").click()
    assert dl_md.value.suggested_filename == "回答案.md"
    md = Path(dl_md.value.path()).read_text(encoding="utf-8")
    assert md.startswith("# 回答案\n\n〇〇様")
    assert "\nお問い合わせいただき、誠にありがとうございます。  \n" in md
    assert "\n【出典】  \n[1] " in md and md.endswith("行）  \n担当: 産業振興課\n")


def test_missing_index_is_explained_not_a_stack_trace(page: Any, no_index_site: str) -> None:
    page.goto(no_index_site)
    banner = page.locator("#kva-banner .kva-error-banner")
    banner.wait_for()
    assert "資料の索引がまだ作成されていません" in banner.inner_text()
    ask(page, QUESTION)
    inline = page.locator("#kva-chat .kva-error")
    inline.wait_for()
    assert "資料の索引がまだ作成されていません" in inline.inner_text()
    assert "kansai-assistant ingest" in inline.inner_text()  # what to do next
    toast = page.locator(".toast-body", has_text="資料の索引がまだ作成されていません")
    toast.first.wait_for()
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and 'File "' not in body
    shot(page, "ui-error.png")


def test_markup_in_documents_is_shown_as_text_and_never_runs(page: Any, hostile_site: str) -> None:
    page.goto(hostile_site)
    ask(page, "危険な資料について")
    page.locator("#kva-panel details.kva-source").first.wait_for()
    page.locator("#kva-chat a.kva-cite").first.click()
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__kvaPwned") is None
    assert page.locator("#kva-panel script, #kva-panel img, #kva-chat img").count() == 0
    panel = page.locator("#kva-panel").inner_text()
    assert "<script>window.__kvaPwned = 1</script>" in panel
    assert "1 文を回答から除きました" in panel
    assert "<script>" in bot_messages(page).last.inner_text()
    shot(page, "ui-escaping.png")


# ---- issue 13: what the outside probe found --------------------------------------------------------
MARKDOWN = (
    "[live link](http://127.0.0.1:9/l) ![img](http://127.0.0.1:9/q3.png) "
    "$$x^2$$ http://127.0.0.1:9/auto **bold**"
)


class MarkdownAnswers(HostileAnswers):
    """Documents (and so answers) that contain Markdown and LaTeX."""

    evil = MARKDOWN


@pytest.fixture(scope="module")
def markdown_site(site_services: Services, browser: Any) -> Iterator[str]:
    s = Services(
        settings=site_services.settings,
        engine=site_services.engine,
        answers=MarkdownAnswers(),  # type: ignore[arg-type]
        feedback=site_services.feedback,
    )
    yield from serve(s)


def test_questions_and_documents_are_plain_text_not_markdown(page: Any, markdown_site: str) -> None:
    page.goto(markdown_site)
    ask(page, "質問 ![q](http://127.0.0.1:9/q3.png) [a](http://127.0.0.1:9/a) $$y$$")
    page.locator("#kva-panel details.kva-source").first.wait_for()
    page.wait_for_timeout(500)
    chat = page.locator("#kva-chat")
    assert chat.locator("img").count() == 0 and chat.locator(".katex").count() == 0
    assert chat.locator("strong, b").count() == 0
    links = chat.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href') || '')")
    assert links and all(h.startswith("#kva-src-") for h in links), links  # ours only
    user = page.locator('#kva-chat [data-testid="user"]').last.inner_text()
    assert "![q](http://127.0.0.1:9/q3.png) [a](http://127.0.0.1:9/a) $$y$$" in user
    bot = bot_messages(page).last.inner_text()
    assert "$$x^2$$" in bot and "**bold**" in bot and "[live link](http://127.0.0.1:9/l)" in bot
    # (the page fixture fails the test if anything fetched http://127.0.0.1:9/…)


def test_copy_puts_plain_text_with_markers_and_sources_on_the_clipboard(
    browser: Any, site: str
) -> None:
    context = browser.new_context(locale="ja-JP", viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(site)
        ask(page, QUESTION)
        page.locator("#kva-chat a.kva-cite").first.wait_for()
        assert page.get_by_role("button", name="Copy message").count() == 0
        button = page.locator("#kva-chat button.kva-copy").last
        assert button.inner_text() == "コピー" and "コピー" in (button.get_attribute("title") or "")
        button.click()
        page.locator("#kva-chat button.kva-copy", has_text="コピーしました").wait_for()
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert "<" not in copied and "kva-cite" not in copied, copied
        answer, _, sources = copied.partition("\n\n出典:\n")
        assert "[1]" in answer and sources.startswith("[1] 関西広域産業ビジョン"), copied
        shown = bot_messages(page).last.inner_text()
        assert all(line in shown for line in answer.splitlines()), (answer, shown)
    finally:
        context.close()


def test_a_too_long_question_is_kept_with_a_japanese_message_and_a_counter(
    page: Any, site: str
) -> None:
    page.goto(site)
    counter = page.locator("#kva-count")
    assert counter.inner_text() == "0 / 2,000 文字"
    box = page.locator("#kva-question textarea")
    box.fill("関西" * 2500)
    page.wait_for_function(
        "() => document.querySelector('#kva-count').textContent.includes('5,000')"
    )
    assert counter.inner_text() == "5,000 / 2,000 文字（上限を超えています）"
    box.press("Enter")
    toast = page.locator('[data-testid="toast-body"]', has_text="質問が長すぎます")
    toast.first.wait_for()
    assert "上限は2,000文字です" in toast.first.inner_text()
    assert toast.first.locator(".toast-title").inner_text().strip() == "注意"
    page.wait_for_timeout(500)
    assert box.input_value() == "関西" * 2500  # nothing lost
    assert page.locator('#kva-chat [data-testid="user"]').count() == 0
    body = page.locator("body").inner_text()
    assert "Warning" not in body and "Error" not in body
    box.fill("関西の強みは？")
    page.wait_for_function(
        "() => document.querySelector('#kva-count').textContent.startsWith('7 /')"
    )


def test_toasts_have_japanese_titles(page: Any, site: str) -> None:
    page.goto(site)
    ask(page, QUESTION)
    page.locator("#kva-chat a.kva-cite").first.wait_for()
    page.locator("#kva-chat").get_by_role("button", name="いいね").last.click()
    toast = page.locator('[data-testid="toast-body"]', has_text="評価を記録しました")
    toast.first.wait_for()
    assert toast.first.locator(".toast-title").inner_text().strip() == "お知らせ"


CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text(encoding="utf-8")


def low_contrast(page: Any) -> list[dict[str, Any]]:
    return [r for r in page.evaluate(CONTRAST_JS) if r["ratio"] < 4.5]


def settled(page: Any) -> None:
    """Gradio's progress timers («0.1s») have finished fading out (a 0.1 s opacity transition):
    text caught mid-fade is not text a user reads."""
    page.wait_for_function(
        """() => [...document.querySelectorAll('.progress-text, .eta-bar')].every(e => {
            for (let p = e; p; p = p.parentElement) {
                if (parseFloat(getComputedStyle(p).opacity) === 0) return true;
                if (getComputedStyle(p).display === 'none') return true;
            }
            return false;
        })"""
    )


def test_every_text_has_a_contrast_of_at_least_4_5(page: Any, site: str) -> None:
    page.goto(site)
    page.locator("#kva-question textarea").wait_for()
    assert low_contrast(page) == []  # the header, the empty panel, the placeholders, the counter
    ask(page, "九州の予算は？")  # not covered: the notice with the nearest sections
    page.locator("#kva-panel .kva-ungrounded").wait_for()
    ask(page, QUESTION)
    page.locator("#kva-panel details.kva-source").first.wait_for()
    settled(page)
    checked = page.evaluate(CONTRAST_JS)
    assert any(r["grey"] for r in checked) and len(checked) > 20
    assert [r for r in checked if r["ratio"] < 4.5] == []
    for tab in ("支援を探す", "回答案を作る"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(300)
        assert low_contrast(page) == [], tab


def test_all_sources_of_an_answer_are_open(page: Any, site: str) -> None:
    page.goto(site)
    ask(page, "関西広域連合の4つのバリューは？")  # each value is its own cited item
    page.locator("#kva-chat a.kva-cite").first.wait_for()
    n = len(
        set(
            page.locator("#kva-chat a.kva-cite").evaluate_all(
                "e => e.map(a => a.getAttribute('href'))"
            )
        )
    )
    sources = page.locator(
        "#kva-panel > div > .kva-sources details.kva-source, #kva-panel .kva-sources details.kva-source"
    )
    assert sources.count() == n >= 2
    assert all(sources.nth(i).evaluate("e => e.open") for i in range(n))
    assert all(sources.nth(i).locator(".kva-passage").is_visible() for i in range(n))


def test_on_a_phone_the_header_shows_and_a_source_leads_back_to_the_answer(
    browser: Any, site: str
) -> None:
    context = browser.new_context(
        locale="ja-JP", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(site)
        header = page.locator(".kva-header h1")
        header.wait_for()
        page.wait_for_timeout(1000)  # after the page's own start-up script
        box = header.bounding_box()
        assert page.evaluate("window.scrollY") == 0 and box is not None and box["y"] >= 0
        assert page.evaluate("document.activeElement.tagName") != "TEXTAREA"  # no keyboard
        shot(page, "ui-phone.png")
        ask(page, QUESTION)
        marker = page.locator("#kva-chat a.kva-cite").last
        marker.wait_for()
        marker.click()
        source = page.locator("#kva-panel details.kva-source.kva-active")
        source.wait_for()
        page.wait_for_function(
            "() => { const r = document.querySelector('#kva-panel .kva-active').getBoundingClientRect();"
            " return r.top >= 0 && r.top < window.innerHeight; }"
        )
        back = source.locator("a.kva-back")
        assert back.is_visible() and "回答に戻る" in back.inner_text()
        back.click()
        page.wait_for_function(
            "(href) => { const a = [...document.querySelectorAll('#kva-chat a.kva-cite')]"
            ".filter(e => e.getAttribute('href') === href).pop(); const r = a.getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= window.innerHeight; }",
            arg=marker.get_attribute("href"),
        )
        shot(page, "ui-phone-back.png")
    finally:
        context.close()


def test_the_support_form_offers_students_and_never_writes_a_double_full_stop(
    page: Any, site: str
) -> None:
    page.goto(site)
    page.get_by_role("tab", name="支援を探す").click()
    page.locator("#kva-size input").click()
    page.get_by_role("option", name="学生").click()
    page.locator("#kva-goals").get_by_label("起業").check()
    page.locator("#kva-note textarea").fill("大学でロボットを研究しています。")
    page.locator("#kva-find").click()
    out = page.locator("#kva-support-out")
    out.locator("details.kva-source").first.wait_for()
    described = out.locator(".kva-described").inner_text()
    assert (
        described == "検索した内容: 規模: 学生。目的: 起業。補足: 大学でロボットを研究しています。"
    )
    assert "。。" not in out.inner_text()
    sources = out.locator("details.kva-source")
    assert all(sources.nth(i).evaluate("e => e.open") for i in range(sources.count()))
