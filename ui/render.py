"""Pure formatting helpers for the web page: an :class:`AnswerResult` in, escaped HTML out.

Everything that comes from documents, the user or the model is data: it is ``html.escape``-d
before any markup is added, so a passage containing ``<script>`` is shown as text and never
runs. The chat shows these strings as HTML without Markdown or LaTeX (``ui.web`` turns both
off), so ``[link](http://…)``, ``![img](…)`` or ``$$x$$`` in a question or a document stay
text. The helpers hold no retrieval or answer logic; they only lay out what the engine returned.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

from assistant.answer.types import AnswerResult, Citation
from assistant.api.shaping import sources_text

MARKER = re.compile(r"\[(\d{1,3})\]")

REMOVED_KIND = {
    "unsupported": "資料で裏付けられない",
    "bad_citation": "出典番号が資料と合わない",
    "uncited": "出典が示されていない",
}


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _safe_id(answer_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "", answer_id)[:64] or "x"


def source_anchor(answer_id: str, n: int) -> str:
    """The element id of source ``n`` of an answer (the target of its ``[n]`` markers)."""
    return f"kva-src-{_safe_id(answer_id)}-{n}"


def plain_html(text: str) -> str:
    """Escaped text with line breaks kept (for a message still streaming)."""
    return esc(text).replace("\n", "<br>")


def answer_html(text: str, answer_id: str, known: Iterable[int] | None = None) -> str:
    """Escaped answer text whose ``[n]`` markers are links to the numbered sources.

    ``known`` limits the links to the citation numbers that exist; other brackets stay text.
    """
    allowed = set(known) if known is not None else None

    def link(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if allowed is not None and n not in allowed:
            return m.group(0)
        target = source_anchor(answer_id, n)
        return (
            f'<a class="kva-cite" href="#{target}" data-src="{target}" '
            f'title="出典 {n} を表示">[{n}]</a>'
        )

    return MARKER.sub(link, esc(text)).replace("\n", "<br>")


def plain_text(result: AnswerResult) -> str:
    """What "コピー" puts on the clipboard: the answer with its [n] markers, then its sources."""
    listed = sources_text(result.citations, "ja")
    return f"{result.answer}\n\n{listed}" if listed else result.answer


def copy_html(result: AnswerResult) -> str:
    """A copy button and the plain text it copies (hidden; read by the page's script)."""
    return (
        '<span class="kva-tools"><button type="button" class="kva-copy" '
        'title="回答と出典をテキストでコピー" aria-label="回答と出典をテキストでコピー">'
        "コピー</button></span>"
        f'<span class="kva-plain">{esc(plain_text(result))}</span>'
    )


def highlight(text: str, quote: str) -> str:
    """The escaped passage with the cited sentence (``Citation.quote``) in ``<mark>``."""
    q = quote.strip()
    i = text.find(q) if q else -1
    if i < 0:
        return esc(text)
    return esc(text[:i]) + '<mark class="kva-quote">' + esc(q) + "</mark>" + esc(text[i + len(q) :])


def where(position: dict[str, Any]) -> str:
    """``12–15行`` or ``3ページ`` from a citation's position (empty when unknown)."""
    parts = []
    ps, pe = position.get("page_start"), position.get("page_end")
    if ps:
        parts.append(f"{ps}ページ" if not pe or pe == ps else f"{ps}–{pe}ページ")
    ls, le = position.get("line_start"), position.get("line_end")
    if ls:
        parts.append(f"{ls}行" if not le or le == ls else f"{ls}–{le}行")
    return "・".join(parts)


def citation_html(c: Citation, answer_id: str, open_: bool = False) -> str:
    loc = where(c.position)
    section = c.section or "—"
    return (
        f'<details class="kva-source" id="{source_anchor(answer_id, c.n)}"'
        f"{' open' if open_ else ''}>"
        f'<summary><span class="kva-n">[{c.n}]</span> '
        f'<span class="kva-title">{esc(c.title)}</span>'
        f'<span class="kva-section">{esc(section)}</span>'
        + (f'<span class="kva-where">{esc(loc)}</span>' if loc else "")
        + "</summary>"
        f'<div class="kva-passage">{highlight(c.text, c.quote)}</div>'
        '<a class="kva-back" href="#" role="button">↑ 回答に戻る</a>'
        "</details>"
    )


def notices_html(result: AnswerResult) -> str:
    """Why the answer may need care: not covered, sentences removed, model unreachable."""
    out = []
    if result.degraded:
        out.append(
            '<div class="kva-notice kva-degraded" role="status">'
            "<strong>言語モデルを利用できなかったため、資料の文をそのまま引用して回答しました。</strong>"
            f'<div class="kva-reason">{esc(result.degraded_reason)}</div></div>'
        )
    if not result.grounded:
        near = "".join(
            f"<li><span class='kva-section'>{esc(p.get('section') or p.get('title', ''))}</span>"
            f"<div class='kva-passage'>{esc(_clip(str(p.get('text', ''))))}</div></li>"
            for p in result.nearest
        )
        out.append(
            '<div class="kva-notice kva-ungrounded" role="status">'
            "<strong>資料にはこの質問への記載が見つかりませんでした。</strong>"
            + (
                f"<div>近い内容の箇所:</div><ul class='kva-nearest'>{near}</ul>"
                if near
                else "<div>近い内容の箇所もありません。</div>"
            )
            + "</div>"
        )
    if result.removed:
        items = "".join(
            f"<li><span class='kva-kind'>{esc(REMOVED_KIND.get(r.kind, r.kind))}</span>"
            f"「{esc(r.sentence)}」<span class='kva-reason'>{esc(r.reason)}</span></li>"
            for r in result.removed
        )
        out.append(
            '<div class="kva-notice kva-removed" role="status">'
            f"<strong>根拠を確認できなかった {len(result.removed)} 文を回答から除きました。</strong>"
            f"<details><summary>除いた文と理由</summary><ul>{items}</ul></details></div>"
        )
    return "".join(out)


def sources_html(result: AnswerResult, open_all: bool = False) -> str:
    if not result.citations:
        return ""
    items = "".join(citation_html(c, result.id, open_=open_all) for c in result.citations)
    return f'<div class="kva-sources"><div class="kva-h">出典</div>{items}</div>'


def panel_html(results: list[AnswerResult]) -> str:
    """The chat's side panel: notices and sources of the latest answer, older ones folded."""
    if not results:
        return EMPTY_PANEL
    latest, older = results[-1], results[-2::-1]
    out = [notices_html(latest), sources_html(latest, open_all=True)]
    for r in older:
        if r.citations:
            out.append(
                '<details class="kva-older"><summary>以前の回答の出典: '
                f"{esc(_clip(r.question, 40))}</summary>{sources_html(r)}</details>"
            )
    return "".join(out)


def result_html(result: AnswerResult) -> str:
    """A whole answer with its notices and sources (the support tab)."""
    known = [c.n for c in result.citations]
    return (
        notices_html(result)
        + f'<div class="kva-answer">{answer_html(result.answer, result.id, known)}</div>'
        + sources_html(result, open_all=True)
    )


def draft_sources_html(result: AnswerResult) -> str:
    return notices_html(result) + sources_html(result, open_all=True)


EMPTY_PANEL = (
    '<div class="kva-empty">回答の出典がここに表示されます。'
    "回答中の [1] などの番号をクリックすると、該当する箇所を開きます。</div>"
)


def _clip(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# ---- plain text built from form fields and drafts -------------------------------------------
def support_description(
    industry: str | None,
    region: str | None,
    size: str | None,
    goals: Iterable[str] | None,
    note: str | None = "",
) -> str:
    """The description the support finder reads, built from the form (empty fields left out).

    Each part ends with one 「。」 (a note that already ends with one gets no second)."""
    parts = []
    if industry and industry.strip():
        parts.append(f"業種: {industry.strip()}")
    if region and region.strip():
        parts.append(f"地域: {region.strip()}")
    if size and size.strip():
        parts.append(f"規模: {size.strip()}")
    g = list(dict.fromkeys(x.strip() for x in goals or [] if x and x.strip()))
    if g:
        parts.append(f"目的: {'、'.join(g)}")
    if note and note.strip():
        parts.append(f"補足: {note.strip()}")
    return "".join(_sentence(p) for p in parts)


def _sentence(text: str) -> str:
    text = text.rstrip("。．.　 ")
    return text if text.endswith(("？", "?", "！", "!")) else text + "。"
