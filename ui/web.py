"""The Gradio page, mounted inside the FastAPI service at ``/ui``.

An adapter: every answer comes from ``services.answers`` (the same engine as the CLI and the
HTTP API), feedback goes to ``services.feedback``. The handlers below only turn form values into
engine calls and results into HTML (:mod:`ui.render`). Works offline: no share link, no
analytics, system fonts only, no CDN.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from assistant.answer.types import AnswerResult, Message
from assistant.api.inputs import clean_question
from assistant.errors import (
    AssistantError,
    BadRequest,
    IndexNotReady,
    UpstreamModelError,
)
from assistant.feedback import Feedback
from assistant.services import Services
from ui import render

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
TITLE = "関西ビジョン・アシスタント"

EXAMPLES = [
    "関西広域産業ビジョンの目指す将来像は何ですか？",
    "スタートアップ支援にはどのような取組みがありますか？",
    "カーボンニュートラルに向けた関西の取組みを教えてください。",
    "What does the vision say about inbound tourism?",
]
REGIONS = [
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "徳島県",
    "関西以外",
]
DEFAULT_VOCAB: dict[str, list[str]] = {
    "industries": ["製造業", "食品", "観光", "IT", "ヘルスケア", "エネルギー", "スタートアップ"],
    "goals": ["海外展開", "販路開拓", "DX", "人材確保", "資金調達", "脱炭素", "連携・協業"],
    "sizes": ["スタートアップ", "中小企業", "大企業", "個人事業主"],
}
# always offered, whatever the catalogue lists: who else asks (students looking at start-ups,
# research or careers in the region's industries)
EXTRA_SIZES = ["学生"]
SYSTEM_FONTS = [
    "Noto Sans CJK JP",
    "Hiragino Sans",
    "Hiragino Kaku Gothic ProN",
    "Yu Gothic",
    "Meiryo",
    "system-ui",
    "sans-serif",
]
MONO_FONTS = ["Noto Sans Mono CJK JP", "ui-monospace", "monospace"]

# The page's own script (one listener per kind of event, on the document, so it also works for
# messages Gradio re-renders):
# - an [n] marker opens its source (and any folded group around it), highlights and shows it;
# - "↑ 回答に戻る" in a source scrolls back to the marker that opened it (or the first one);
# - "コピー" puts the answer's plain text (with [n] and its sources) on the clipboard;
# - the character counter under the question box; Japanese titles on Gradio's toasts;
# - the question box gets the focus on wide screens only: on a phone, focusing it at load
#   scrolls the header away and opens the keyboard.
PAGE_JS = """
() => {
  let lastCite = null;
  const copyText = async (text) => {
    try { await navigator.clipboard.writeText(text); return true; } catch (e) { /* below */ }
    const ta = document.createElement("textarea");
    ta.value = text; ta.setAttribute("readonly", ""); ta.style.position = "fixed"; ta.style.opacity = "0";
    document.body.appendChild(ta); ta.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    ta.remove();
    return ok;
  };
  const show = (el) => {
    for (let p = el; p; p = p.parentElement) { if (p.tagName === "DETAILS") p.open = true; }
    document.querySelectorAll(".kva-source.kva-active").forEach((e) => e.classList.remove("kva-active"));
    el.classList.add("kva-active");
    el.scrollIntoView({ behavior: "smooth", block: "center" });
  };
  document.addEventListener("click", (ev) => {
    const t = ev.target && ev.target.closest ? ev.target : null;
    if (!t) return;
    const copy = t.closest("button.kva-copy");
    if (copy) {
      ev.preventDefault(); ev.stopPropagation();
      const holder = copy.closest(".message-content") || copy.parentElement.parentElement;
      const plain = holder ? holder.querySelector(".kva-plain") : null;
      if (!plain) return;
      copyText(plain.textContent).then((ok) => {
        copy.textContent = ok ? "コピーしました" : "コピーできませんでした";
        setTimeout(() => { copy.textContent = "コピー"; }, 2000);
      });
      return;
    }
    const back = t.closest("a.kva-back");
    if (back) {
      ev.preventDefault(); ev.stopPropagation();
      const src = back.closest(".kva-source");
      if (!src) return;
      const href = "#" + src.id;
      let target = lastCite && document.body.contains(lastCite) && lastCite.getAttribute("href") === href ? lastCite : null;
      if (!target) target = document.querySelector('a.kva-cite[href="' + href + '"]');
      if (target) { target.scrollIntoView({ behavior: "smooth", block: "center" }); target.focus({ preventScroll: true }); }
      return;
    }
    const a = t.closest("a.kva-cite");
    if (!a) return;
    ev.preventDefault(); ev.stopPropagation();
    const id = a.getAttribute("data-src") || (a.getAttribute("href") || "").replace(/^#/, "");
    const el = document.getElementById(id);
    if (!el) return;
    lastCite = a;
    show(el);
  }, true);
  const count = () => {
    const box = document.querySelector("#kva-question textarea");
    const out = document.querySelector("#kva-count");
    if (!box || !out) return;
    const max = parseInt(out.getAttribute("data-max") || "0", 10);
    const n = Array.from(box.value).length;
    const over = max > 0 && n > max;
    const text = n.toLocaleString("ja-JP") + " / " + max.toLocaleString("ja-JP") + " 文字" + (over ? "（上限を超えています）" : "");
    if (out.textContent !== text) out.textContent = text;
    out.classList.toggle("kva-over", over);
  };
  document.addEventListener("input", (ev) => { if (ev.target && ev.target.closest && ev.target.closest("#kva-question")) count(); }, true);
  setInterval(count, 500);  // also after Gradio sets the box (an example, a kept question)
  // Gradio titles its toasts with their type in English whatever title the server sends
  const TITLES = { Warning: "注意", Info: "お知らせ", Error: "エラー", Success: "完了" };
  const relabel = () => {
    document.querySelectorAll(".toast-title").forEach((el) => {
      el.childNodes.forEach((n) => {
        const key = (n.nodeValue || "").trim();
        if (n.nodeType === 3 && TITLES[key]) n.nodeValue = TITLES[key];
      });
    });
    document.querySelectorAll('[data-testid="toast-close"]').forEach((b) => {
      if (b.getAttribute("aria-label") !== "閉じる") b.setAttribute("aria-label", "閉じる");
    });
  };
  new MutationObserver(relabel).observe(document.body, { childList: true, subtree: true, characterData: true });
  setTimeout(() => {
    if (!window.matchMedia("(min-width: 900px)").matches) return;
    const box = document.querySelector("#kva-question textarea");
    if (box) box.focus({ preventScroll: true });
  }, 400);
}
"""


@dataclass
class Turn:
    """One question of the conversation and what came of it (a result or an error)."""

    question: str
    result: AnswerResult | None = None
    error: str = ""


def error_text(exc: AssistantError) -> str:
    """A user-facing line for an engine error: what happened in Japanese, then the detail."""
    if isinstance(exc, IndexNotReady):
        lead = "資料の索引がまだ作成されていません。"
    elif isinstance(exc, UpstreamModelError):
        lead = "言語モデルに接続できませんでした。"
    elif isinstance(exc, BadRequest):
        lead = "入力を確認してください。"
    else:
        lead = "回答を作成できませんでした。"
    return f"{lead}（{exc.one_line()}）"


UNEXPECTED = "予期しないエラーが発生しました。時間をおいて再度お試しください。"


def user_message(exc: Exception) -> str:
    """Plain text for any failure: the engine's message and hint, never a traceback."""
    if isinstance(exc, AssistantError):
        return error_text(exc)
    log.exception("unexpected error in the web page")
    return UNEXPECTED


def _fail(exc: Exception) -> gr.Error:
    # gr.Error renders its message as HTML, and the message may quote user input
    return gr.Error(render.esc(user_message(exc)), title="エラー", print_exception=False)


class Handlers:
    """The page's event handlers: plain values in, plain values out (testable without Gradio)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.answers = services.answers

    # ---- chat ---------------------------------------------------------------------------------
    @staticmethod
    def messages(turns: list[Turn], pending: str | None = None) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for t in turns:
            out.append({"role": "user", "content": render.plain_html(t.question)})
            if t.result is not None:
                known = [c.n for c in t.result.citations]
                body = render.answer_html(t.result.answer, t.result.id, known)
                body += render.copy_html(t.result)
            elif t.error:
                body = f'<span class="kva-error">⚠ {render.esc(t.error)}</span>'
            else:
                body = render.plain_html(pending or "") or "…"
            out.append({"role": "assistant", "content": body})
        return out

    @staticmethod
    def history(turns: list[Turn]) -> list[Message]:
        out = []
        for t in turns:
            if t.result is not None:
                out += [Message("user", t.question), Message("assistant", t.result.answer)]
        return out

    @staticmethod
    def panel(turns: list[Turn]) -> str:
        return render.panel_html([t.result for t in turns if t.result is not None])

    def document_choices(self) -> list[tuple[str, str]]:
        """(label shown, doc_id) for the document selector; empty while there is no index."""
        try:
            docs = self.services.engine.searcher.manifest().documents.values()
        except AssistantError:
            return []
        out = []
        for d in docs:
            effective = str(d.meta.get("effective", ""))
            out.append((f"{d.title}（{effective} 施行）" if effective else d.title, d.doc_id))
        return out

    def chat(
        self, question: str, turns: list[Turn] | None, documents: list[str] | None = None
    ) -> Iterator[tuple[str, list[dict[str, str]], str, list[Turn]]]:
        """Stream an answer: (cleared input, chat messages, source panel, new state);
        ``documents`` limits the search to those doc_ids (none selected = all)."""
        turns = list(turns or [])
        raw = question or ""
        question = clean_question(raw)
        if not question:
            yield "", self.messages(turns), self.panel(turns), turns
            return
        too_long = self.too_long(question)
        if too_long:  # the text stays in the box, to be shortened
            gr.Warning(too_long, title="入力")
            yield raw, self.messages(turns), self.panel(turns), turns
            return
        history = self.history(turns)
        turn = Turn(question)
        turns.append(turn)
        text = ""
        yield "", self.messages(turns, text), self.panel(turns[:-1]), turns
        try:
            for ev in self.answers.stream(
                question, history, mode="chat", documents=list(documents or []) or None
            ):
                if ev.kind == "delta":
                    text += ev.text
                    yield "", self.messages(turns, text), self.panel(turns[:-1]), turns
                elif ev.result is not None:
                    turn.result = ev.result
        except Exception as exc:
            # Shown in the conversation and as a toast; gr.Error would blank the chat instead.
            turn.error = user_message(exc)
            gr.Warning(render.esc(turn.error), title="エラー")
        yield "", self.messages(turns), self.panel(turns), turns

    def too_long(self, text: str, what: str = "質問") -> str:
        """A Japanese message when ``text`` is over the limit, else ""."""
        limit = self.services.settings.max_question_chars
        if len(text) <= limit:
            return ""
        return (
            f"{what}が長すぎます（{len(text):,}文字。上限は{limit:,}文字です）。"
            "短くしてから送信してください。入力した文章はそのまま残っています。"
        )

    def new_conversation(self) -> tuple[str, list[dict[str, str]], str, list[Turn]]:
        return "", [], render.EMPTY_PANEL, []

    def feedback(self, turns: list[Turn] | None, data: gr.LikeData) -> None:
        index = data.index if isinstance(data.index, int) else data.index[0]
        turns = turns or []
        turn = turns[index // 2] if 0 <= index // 2 < len(turns) else None
        if turn is None or turn.result is None:
            gr.Info("この回答には評価を付けられません。", title="お知らせ")
            return
        liked = data.liked
        if liked in (True, "Like"):
            rating = "up"
        elif liked in (False, "Dislike"):
            rating = "down"
        else:
            return  # the rating was withdrawn
        self.rate(turn.result, rating)
        gr.Info("評価を記録しました。ありがとうございます。", title="お知らせ")

    def rate(self, result: AnswerResult, rating: str, comment: str = "") -> Feedback:
        return self.services.feedback.add(
            Feedback(
                answer_id=result.id,
                rating=rating,
                comment=comment,
                question=result.question,
                answer=result.answer,
            )
        )

    # ---- support ------------------------------------------------------------------------------
    def support(
        self,
        industry: str | None,
        region: str | None,
        size: str | None,
        goals: list[str] | None,
        note: str | None,
    ) -> str:
        description = render.support_description(industry, region, size, goals, note)
        if not description:
            raise gr.Error("業種・地域・規模・目的のいずれかを入力してください。", title="入力")
        too_long = self.too_long(description, "入力")
        if too_long:
            raise gr.Error(render.esc(too_long), title="入力")
        try:
            result = self.answers.answer(description, mode="support")
        except Exception as exc:
            raise _fail(exc) from exc
        return (
            f'<div class="kva-described">検索した内容: {render.esc(description)}</div>'
            + render.result_html(result)
        )

    def vocabulary(self) -> dict[str, list[str]]:
        """The form's choices, from the support catalogue the engine reads (defaults if none)."""
        try:
            data = json.loads(Path(self.answers.support.path).read_text(encoding="utf-8"))
            vocab = data.get("vocabulary", {})
        except (OSError, ValueError, AttributeError):
            vocab = {}
        out = {}
        for key, default in DEFAULT_VOCAB.items():
            values = [v for v in vocab.get(key, []) if v not in ("全業種", "全規模")]
            out[key] = values or default
        out["sizes"] = list(dict.fromkeys([*out["sizes"], *EXTRA_SIZES]))
        return out

    # ---- draft --------------------------------------------------------------------------------
    def draft(self, inquiry: str) -> Iterator[tuple[str, str, Any, Any]]:
        """Stream a reply draft: (draft text, sources, .txt button, .md button).

        The save buttons stay disabled until there is a finished draft to save; the files
        themselves are made in the browser from the text box (see ``download_js``).
        """
        inquiry = clean_question(inquiry or "")
        if not inquiry:
            raise gr.Error("お問い合わせの本文を貼り付けてください。", title="入力")
        too_long = self.too_long(inquiry, "お問い合わせの本文")
        if too_long:
            raise gr.Error(render.esc(too_long), title="入力")
        text = ""
        result: AnswerResult | None = None
        off = gr.update(interactive=False)
        try:
            for ev in self.answers.stream(inquiry, [], mode="draft"):
                if ev.kind == "delta":
                    text += ev.text
                    yield text, "", off, off
                elif ev.result is not None:
                    result = ev.result
        except Exception as exc:
            raise _fail(exc) from exc
        final = result.answer if result is not None else text.strip()
        on = gr.update(interactive=bool(final.strip()))
        yield final, render.draft_sources_html(result) if result else "", on, on

    # ---- page ---------------------------------------------------------------------------------
    def status(self) -> str:
        """A banner when the index is missing, shown when the page loads."""
        try:
            self.services.engine.searcher.index()
        except AssistantError as exc:
            return (
                '<div class="kva-notice kva-error-banner" role="alert">'
                f"{render.esc(error_text(exc))}</div>"
            )
        except Exception:
            log.exception("index status check failed")
            return ""
        return ""


def build_ui(services: Services) -> gr.Blocks:
    h = Handlers(services)
    vocab = h.vocabulary()
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.HTML(
            f'<div class="kva-header"><h1>{TITLE}</h1>'
            "<p>関西広域産業ビジョン（2023）の記載にもとづき、出典つきでお答えします。"
            "English questions are welcome too.</p></div>"
        )
        banner = gr.HTML("", elem_id="kva-banner")
        with gr.Tabs():
            with gr.Tab("質問する", id="chat"):
                turns = gr.State([])
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            label="会話",
                            elem_id="kva-chat",
                            height=520,
                            feedback_options=("Like", "Dislike"),
                            placeholder="関西広域産業ビジョンについて質問してください。",
                            # questions and document text are text: no Markdown (live links,
                            # images fetched), no LaTeX; our own markup is escaped HTML
                            render_markdown=False,
                            latex_delimiters=[],
                            buttons=[],  # each answer has its own "コピー" (plain text)
                        )
                        documents = gr.Dropdown(
                            h.document_choices(),
                            value=[],
                            multiselect=True,
                            label="対象の文書（選ばなければすべて）",
                            elem_id="kva-documents",
                        )
                        with gr.Row():
                            question = gr.Textbox(
                                label="質問",
                                placeholder="例: 関西の強みは何ですか？（Enter で送信）",
                                elem_id="kva-question",
                                scale=5,
                                lines=1,
                                max_lines=4,
                            )
                            send = gr.Button("送信", variant="primary", scale=1, elem_id="kva-send")
                        gr.HTML(counter_html(services.settings.max_question_chars))
                        gr.Markdown("**質問の例**（クリックで質問します）")
                        with gr.Row():
                            example_buttons = [
                                gr.Button(q, size="sm", elem_classes=["kva-example"])
                                for q in EXAMPLES
                            ]
                        new = gr.Button("新しい会話を始める", size="sm", elem_id="kva-new")
                    with gr.Column(scale=2):
                        panel = gr.HTML(render.EMPTY_PANEL, elem_id="kva-panel")
                chat_io: dict[str, Any] = {
                    "fn": h.chat,
                    "inputs": [question, turns, documents],
                    "outputs": [question, chatbot, panel, turns],
                    "show_progress": "minimal",
                }
                question.submit(**chat_io)
                send.click(**chat_io)
                for btn, q in zip(example_buttons, EXAMPLES, strict=True):
                    btn.click(partial(str, q), None, question).then(**chat_io)
                new.click(h.new_conversation, None, [question, chatbot, panel, turns])
                chatbot.clear(h.new_conversation, None, [question, chatbot, panel, turns])
                chatbot.like(h.feedback, [turns], None)

            with gr.Tab("支援を探す", id="support"):
                gr.Markdown(
                    "事業の概要を選ぶと、ビジョンに掲げられた関係しそうな取組み・事業を"
                    "理由と出典つきで示します。"
                )
                with gr.Row():
                    industry = gr.Dropdown(
                        vocab["industries"],
                        value=None,
                        label="業種",
                        allow_custom_value=True,
                        elem_id="kva-industry",
                    )
                    region = gr.Dropdown(REGIONS, value=None, label="地域", elem_id="kva-region")
                    size = gr.Dropdown(
                        vocab["sizes"],
                        value=None,
                        label="規模・立場",
                        allow_custom_value=True,
                        elem_id="kva-size",
                    )
                goals = gr.CheckboxGroup(
                    vocab["goals"], label="目的（複数可）", elem_id="kva-goals"
                )
                note = gr.Textbox(
                    label="補足（任意）",
                    placeholder="例: 京都で和菓子を製造。海外の販路を広げたい。",
                    elem_id="kva-note",
                )
                find = gr.Button("支援を探す", variant="primary", elem_id="kva-find")
                support_out = gr.HTML("", elem_id="kva-support-out")
                find.click(h.support, [industry, region, size, goals, note], support_out)

            with gr.Tab("回答案を作る", id="draft"):
                gr.Markdown(
                    "お問い合わせの文面を貼り付けると、ビジョンの記載にもとづく丁寧な回答案を作ります。"
                    "回答案は編集でき、コピーやファイルでの保存ができます。"
                )
                inquiry = gr.Textbox(
                    label="お問い合わせ",
                    lines=5,
                    placeholder="例: 貴連合のスタートアップ支援について教えていただけますか。",
                    elem_id="kva-inquiry",
                )
                make = gr.Button("回答案を作る", variant="primary", elem_id="kva-make")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        draft = gr.Textbox(
                            label="回答案（編集できます）",
                            lines=14,
                            interactive=True,
                            buttons=["copy"],
                            elem_id="kva-draft",
                        )
                        with gr.Row():
                            dl_txt = gr.Button(
                                "テキストで保存 (.txt)",
                                size="sm",
                                interactive=False,
                                elem_id="kva-dl-txt",
                            )
                            dl_md = gr.Button(
                                "Markdown で保存 (.md)",
                                size="sm",
                                interactive=False,
                                elem_id="kva-dl-md",
                            )
                    with gr.Column(scale=2):
                        draft_sources = gr.HTML("", elem_id="kva-draft-sources")
                make.click(h.draft, [inquiry], [draft, draft_sources, dl_txt, dl_md])
                # Saved in the browser from the text box as it is at the click, edits included
                # (a server-made file could lag behind the last keystroke).
                dl_txt.click(None, [draft], None, js=download_js("txt"))
                dl_md.click(None, [draft], None, js=download_js("md"))
        demo.load(h.status, None, banner)
        demo.load(lambda: gr.update(choices=h.document_choices()), None, documents)
    return demo


def counter_html(limit: int) -> str:
    return (
        f'<div class="kva-count" id="kva-count" data-max="{limit}" aria-live="polite">'
        f"0 / {limit:,} 文字</div>"
    )


def theme() -> gr.themes.Base:
    """The default look with system fonts only (nothing fetched from Google Fonts or a CDN),
    and darker greys and buttons: every text at least 4.5:1 against its background (WCAG AA;
    the default greys are about 2.5:1)."""
    return gr.themes.Default(font=SYSTEM_FONTS, font_mono=MONO_FONTS).set(
        body_text_color_subdued="*neutral_600",
        color_accent="*primary_700",
        input_placeholder_color="*neutral_500",
        block_info_text_color="*neutral_600",
        block_label_text_color="*neutral_700",
        block_title_text_color="*neutral_700",
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_text_color="white",
    )


def download_js(kind: str) -> str:
    """The click handler that saves the draft text box as a .txt or .md file, in the browser."""
    fn = (STATIC / "download.js").read_text(encoding="utf-8").strip()
    return f"(text) => ({fn})(text, {kind!r})"


def css() -> str:
    return (STATIC / "web.css").read_text(encoding="utf-8")


def mount(app: Any, services: Services, path: str = "/ui") -> Any:
    """Mount the page on a FastAPI app (called by the API when ``settings.ui_enabled``)."""
    return gr.mount_gradio_app(
        app,
        build_ui(services),
        path=path,
        footer_links=[],
        show_error=False,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        theme=theme(),
        css=css(),
        js=PAGE_JS,
    )
