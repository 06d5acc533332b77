"""The web page's pure formatting helpers: markers become links, document text stays data."""

from __future__ import annotations

from html.parser import HTMLParser

from assistant.answer.types import AnswerResult, Citation, Removed
from ui import render


class Tags(HTMLParser):
    """Collects the tags and attributes a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html_text: str) -> list[tuple[str, dict[str, str | None]]]:
    p = Tags()
    p.feed(html_text)
    return p.tags


def citation(n: int, text: str = "関西の強みは多様な産業の集積です。", quote: str = "") -> Citation:
    return Citation(
        n=n,
        doc_id="doc",
        title="関西広域産業ビジョン",
        section="第1章 > 関西の強み",
        position={"line_start": 10, "line_end": 12, "page_start": None, "page_end": None},
        text=text,
        score=0.5,
        quote=quote,
    )


def result(**kw: object) -> AnswerResult:
    base: dict[str, object] = {
        "question": "関西の強みは？",
        "answer": "関西には産業が集積しています[1]。研究機関も多いです[2]。",
        "grounded": True,
        "citations": [citation(1), citation(2)],
        "removed": [],
        "backend": "extractive",
        "mode": "chat",
        "timings_ms": {},
        "id": "abc123",
    }
    base.update(kw)
    return AnswerResult(**base)  # type: ignore[arg-type]


def test_markers_become_links_to_their_sources() -> None:
    out = render.answer_html("集積しています[1]。多いです[2]。", "abc123", known=[1, 2])
    links = [a for t, a in tags(out) if t == "a"]
    assert [a["href"] for a in links] == ["#kva-src-abc123-1", "#kva-src-abc123-2"]
    assert all(a["class"] == "kva-cite" for a in links)
    assert ">[1]</a>" in out and ">[2]</a>" in out


def test_only_known_citation_numbers_are_linked() -> None:
    out = render.answer_html("文[1]。表[3]も。", "abc", known=[1])
    assert out.count("<a ") == 1
    assert "表[3]も。" in out


def test_answer_text_is_escaped_and_line_breaks_kept() -> None:
    out = render.answer_html('<script>alert("x")</script>\n次の行[1]', "id", known=[1])
    assert "<script>" not in out
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<br>次の行" in out
    assert [t for t, _ in tags(out)] == ["br", "a"]


def test_answer_id_cannot_break_out_of_the_attribute() -> None:
    out = render.answer_html("文[1]", 'x" onclick="evil()', known=[1])
    (a,) = [a for t, a in tags(out) if t == "a"]
    assert "onclick" not in a
    assert a["href"] == "#kva-src-xonclickevil-1"


def test_the_cited_sentence_is_highlighted_and_escaped() -> None:
    text = "前置き<b>太字</b>。関西は<i>強い</i>。後書き。"
    out = render.highlight(text, "関西は<i>強い</i>。")
    assert out == (
        "前置き&lt;b&gt;太字&lt;/b&gt;。"
        '<mark class="kva-quote">関西は&lt;i&gt;強い&lt;/i&gt;。</mark>後書き。'
    )
    assert render.highlight(text, "ない文") == render.esc(text)
    assert render.highlight(text, "") == render.esc(text)


def test_a_source_shows_number_title_section_lines_and_passage() -> None:
    c = citation(2, text="<script>window.x=1</script>本文。", quote="本文。")
    out = render.citation_html(c, "abc123", open_=True)
    assert [t for t, _ in tags(out)].count("script") == 0
    details = tags(out)[0]
    assert details == ("details", {"class": "kva-source", "id": "kva-src-abc123-2", "open": None})
    assert "[2]" in out and "関西広域産業ビジョン" in out and "第1章 &gt; 関西の強み" in out
    assert "10–12行" in out
    assert "&lt;script&gt;window.x=1&lt;/script&gt;" in out
    assert '<mark class="kva-quote">本文。</mark>' in out


def test_where_reads_pages_and_lines() -> None:
    assert render.where({"line_start": 3, "line_end": 3}) == "3行"
    assert render.where({"page_start": 2, "page_end": 4, "line_start": 5, "line_end": 9}) == (
        "2–4ページ・5–9行"
    )
    assert render.where({}) == ""


def test_a_grounded_clean_answer_has_no_notice() -> None:
    assert render.notices_html(result()) == ""


def test_ungrounded_notice_lists_the_nearest_sections_escaped() -> None:
    r = result(
        grounded=False,
        citations=[],
        nearest=[
            {"section": "観光 > インバウンド", "title": "t", "text": "訪日客<em>が</em>増加"},
            {"section": "", "title": "別の資料", "text": "x"},
        ],
    )
    out = render.notices_html(r)
    assert "資料にはこの質問への記載が見つかりませんでした" in out
    assert "近い内容の箇所" in out
    assert "観光 &gt; インバウンド" in out and "別の資料" in out
    assert "<em>" not in out and "&lt;em&gt;" in out


def test_removed_notice_says_how_many_and_why() -> None:
    r = result(
        removed=[
            Removed("関西は世界一です。", "no passage supports it", "unsupported"),
            Removed("<b>引用なし</b>", "no marker", "uncited"),
        ]
    )
    out = render.notices_html(r)
    assert "2 文を回答から除きました" in out
    assert "資料で裏付けられない" in out and "出典が示されていない" in out
    assert "no passage supports it" in out
    assert "&lt;b&gt;引用なし&lt;/b&gt;" in out


def test_degraded_notice_gives_the_reason() -> None:
    out = render.notices_html(result(degraded=True, degraded_reason="cannot reach <server>"))
    assert "言語モデルを利用できなかった" in out
    assert "cannot reach &lt;server&gt;" in out


def test_panel_shows_the_latest_sources_and_folds_older_ones() -> None:
    old = result(id="old1", question="前の質問")
    new = result(id="new2", citations=[citation(1)])
    out = render.panel_html([old, new])
    assert out.index("kva-src-new2-1") < out.index("kva-older") < out.index("kva-src-old1-1")
    assert "以前の回答の出典: 前の質問" in out
    assert render.panel_html([]) == render.EMPTY_PANEL


def test_result_html_links_markers_and_lists_sources() -> None:
    out = render.result_html(result())
    hrefs = [a.get("href") for t, a in tags(out) if t == "a" and a.get("class") == "kva-cite"]
    ids = [a.get("id") for t, a in tags(out) if t == "details"]
    assert hrefs == ["#kva-src-abc123-1", "#kva-src-abc123-2"]
    assert ids == ["kva-src-abc123-1", "kva-src-abc123-2"]
    # every source of the answer is open: nothing to click to see them
    assert all("open" in a for t, a in tags(out) if t == "details")


def test_support_description_is_built_from_the_filled_fields() -> None:
    d = render.support_description(
        "食品", "京都府", "中小企業", ["海外展開", "販路開拓"], " 和菓子 "
    )
    assert d == "業種: 食品。地域: 京都府。規模: 中小企業。目的: 海外展開、販路開拓。補足: 和菓子。"
    assert render.support_description(None, "", None, [], None) == ""
    assert render.support_description("IT", None, None, None) == "業種: IT。"


def test_support_description_never_doubles_the_full_stop() -> None:
    d = render.support_description("食品", None, "学生", ["DX", "DX"], "和菓子を作っています。")
    assert d == "業種: 食品。規模: 学生。目的: DX。補足: 和菓子を作っています。"
    assert "。。" not in render.support_description(None, None, None, None, "海外は？。。")
    assert render.support_description(None, None, None, None, "海外は？") == "補足: 海外は？"


def test_copy_text_is_plain_text_with_markers_and_sources() -> None:
    r = result(answer="関西には産業が<b>集積</b>しています[1]。研究機関も多いです[2]。")
    plain = render.plain_text(r)
    assert plain == (
        "関西には産業が<b>集積</b>しています[1]。研究機関も多いです[2]。\n\n出典:\n"
        "[1] 関西広域産業ビジョン — 関西の強み（10–12行）\n"
        "[2] 関西広域産業ビジョン — 関西の強み（10–12行）"
    )
    html = render.copy_html(r)
    assert "&lt;b&gt;集積&lt;/b&gt;" in html and "<b>" not in html  # escaped in the page
    assert [a.get("class") for t, a in tags(html) if t == "button"] == ["kva-copy"]
    assert (
        render.plain_text(result(citations=[], answer="記載はありません。")) == "記載はありません。"
    )


def test_each_source_has_a_way_back_to_the_answer() -> None:
    out = render.citation_html(citation(1), "abc123")
    backs = [a for t, a in tags(out) if t == "a" and a.get("class") == "kva-back"]
    assert len(backs) == 1 and "回答に戻る" in out


def test_markdown_and_latex_in_text_stay_characters() -> None:
    """The chat shows our HTML without Markdown: these only need to stay literal text."""
    evil = "[x](http://127.0.0.1:9/a) ![i](http://127.0.0.1:9/q3.png) $$x$$ <img src=x>"
    out = render.answer_html(evil, "a1", known=[])
    assert [t for t, _ in tags(out)] == []  # no element at all: no link, no image
    assert "![i](http://127.0.0.1:9/q3.png) $$x$$ &lt;img src=x&gt;" in out
