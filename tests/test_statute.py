"""e-Gov statutes: recognised by their markup, chunked by article, labelled, outlined."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from assistant.embedding.fake import HashingEmbedder
from assistant.index.layout import IndexLayout, read_outline
from assistant.settings import Settings
from assistant.text.tokenizer import SudachiTokenizer
from ingest.converters import StatuteConverter
from ingest.loaders import discover, load
from ingest.pipeline import Ingestor
from ingest.statute import arabic_label, is_egov_statute
from ingest.structure import NodeKind
from tests.conftest import PROJECT

RELATED = PROJECT / "corpus" / "related"
SME = RELATED / "338AC0000000154_20250401_506AC0000000023.html"  # 中小企業基本法
LAJ = RELATED / "322AC0000000067_20250601_504AC0000000068.html"  # 地方自治法
ARTICLE_LINE = re.compile(
    r"^第[一二三四五六七八九十百千〇]+条(?:の[一二三四五六七八九十]+)*(?: |$)"
)


@pytest.fixture(scope="module")
def sme() -> tuple[list, list]:  # type: ignore[type-arg]
    doc = load(SME)
    conv = StatuteConverter().convert("sme", doc)
    return conv.chunks, conv.outline


def test_egov_html_is_recognised_other_html_is_not(tmp_path: Path) -> None:
    assert is_egov_statute(SME.read_text(encoding="utf-8"))
    plain = tmp_path / "page.html"
    plain.write_text("<html><title>t</title><body><p>第二条 本文</p></body></html>", "utf-8")
    assert not is_egov_statute(plain.read_text(encoding="utf-8"))
    assert load(plain).format == "html"
    doc = load(SME)
    assert doc.format == "egov-statute"
    assert doc.title == "中小企業基本法"
    assert doc.meta["effective"] == "2025-04-01"
    assert doc.meta["law_num"] == "昭和三十八年法律第百五十四号"
    assert doc.meta["law_num_arabic"] == "昭和38年法律第154号"
    assert doc.meta["source"] == "e-Gov 法令データ"


def test_page_chrome_toc_and_css_are_dropped(sme: tuple[list, list]) -> None:  # type: ignore[type-arg]
    chunks, _ = sme
    text = "\n".join(c.text for c in chunks)
    assert "margin" not in text and "目次" not in text and "(第一条―第十一条)" not in text


def test_article_two_is_one_chunk_with_its_chapter_caption_and_label(
    sme: tuple[list, list],  # type: ignore[type-arg]
) -> None:
    chunks, _ = sme
    art2 = [c for c in chunks if c.extra["label"] == "中小企業基本法 第2条"]
    assert len(art2) == 1
    c = art2[0]
    assert c.headings == ["第一章 総則", "第二条(中小企業者の範囲及び用語の定義)"]
    assert c.text.startswith("(中小企業者の範囲及び用語の定義)\n第二条 この法律に基づいて")
    assert "一 資本金の額又は出資の総額が三億円以下の会社" in c.text  # original text kept
    assert "五人)以下の事業者をいう。" in c.text  # its fifth paragraph too
    assert c.title == "中小企業基本法" and c.extra["version"] == "2025-04-01"


def test_chapter_headings_never_run_into_article_text(sme: tuple[list, list]) -> None:  # type: ignore[type-arg]
    chunks, _ = sme
    for c in chunks:
        assert not any(
            ln.startswith(("第一章", "第二章", "第三章", "第四章")) for ln in c.text.splitlines()
        )


@pytest.mark.parametrize("path", [SME, LAJ])
def test_no_chunk_holds_two_articles(path: Path) -> None:
    chunks = StatuteConverter().convert("x", load(path)).chunks
    for c in chunks:
        starts = [ln for ln in c.text.splitlines() if ARTICLE_LINE.match(ln)]
        assert len(starts) <= 1, (c.extra["label"], starts)
        label = str(c.extra["label"])
        if starts:  # the article in the text is the one in the label
            num = starts[0].split(" ")[0]
            assert arabic_label(num) in label


def test_long_articles_are_split_by_paragraph_with_paragraph_labels() -> None:
    chunks = StatuteConverter().convert("laj", load(LAJ)).chunks
    art284 = [
        c for c in chunks if re.fullmatch(r"地方自治法 第284条(第\d+項)?", str(c.extra["label"]))
    ]
    assert art284, "第二百八十四条 (広域連合) must be indexed"
    assert any("広域連合" in c.text for c in art284)
    split = [c for c in chunks if re.search(r"第\d+条(の\d+)*第\d+項$", str(c.extra["label"]))]
    assert split, "some article of 地方自治法 is long enough to be split"
    for c in split:
        assert c.headings[-1].startswith("第") and c.headings[-1].endswith("項")
        assert len(c.text) <= 1300
    assert all(len(c.text) <= 1300 for c in chunks)


def test_supplementary_provisions_have_their_own_path_and_label() -> None:
    chunks = StatuteConverter().convert("sme", load(SME)).chunks
    suppl = [c for c in chunks if "附則" in str(c.extra["label"])]
    assert suppl and all(c.headings[0].startswith("附則") for c in suppl)
    assert any(
        c.extra["label"] == "中小企業基本法 附則(平成11年12月3日法律第146号)第2条" for c in suppl
    )


def test_outline_articles_paragraphs_items(sme: tuple[list, list]) -> None:  # type: ignore[type-arg]
    chunks, nodes = sme
    by_label = {n.label: n for n in nodes if n.label}
    art = by_label["第2条"]
    assert art.kind is NodeKind.heading
    p1 = by_label["第2条第1項"]
    assert p1.kind is NodeKind.lead and p1.parent == art.id  # 「次の各号に掲げる」
    item1 = by_label["第2条第1項第1号"]
    assert item1.kind is NodeKind.item and item1.parent == p1.id
    assert item1.text.startswith("一 資本金の額又は出資の総額が三億円以下")
    p5 = by_label["第2条第5項"]
    assert p5.kind is NodeKind.text and "二十人" in p5.text
    chapter = next(n for n in nodes if n.text == "第一章 総則")
    assert chapter.kind is NodeKind.heading and art.parent == chapter.id
    chunk_ids = {c.chunk_id for c in chunks}
    assert all(n.chunk_id in chunk_ids for n in (art, p1, item1, p5))
    art2 = next(c for c in chunks if c.extra["label"] == "中小企業基本法 第2条")
    assert item1.chunk_id == art2.chunk_id
    assert all(n.id.startswith("sme#n") for n in nodes)
    for n in nodes:  # every item's line is in its chunk, as written
        if n.kind is NodeKind.item and n.chunk_id:
            assert n.text in next(c.text for c in chunks if c.chunk_id == n.chunk_id)


def test_subitems_hang_under_their_item() -> None:
    nodes = StatuteConverter().convert("laj", load(LAJ)).outline
    subs = [n for n in nodes if n.kind is NodeKind.item and n.level == 2]
    assert subs
    by_id = {n.id: n for n in nodes}
    for n in subs[:50]:
        parent = by_id[n.parent or ""]
        assert parent.kind is NodeKind.item and n.label.startswith(parent.label)


def test_folder_discovery_skips_the_attribution_readme(tmp_path: Path) -> None:
    files, skipped = discover([RELATED])
    assert len(files) == 11 and not skipped
    assert all(f.suffix == ".html" for f in files)


def test_pipeline_stores_the_outline_with_chunk_ids_and_reuses_it(
    tmp_path: Path, sudachi: SudachiTokenizer
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SME, docs / SME.name)
    (docs / "note.md").write_text("# 見出し\n\n関西の中小企業を支援する。\n", "utf-8")
    settings = Settings(index_dir=tmp_path / "index", embedder="fake")
    Ingestor(settings, HashingEmbedder(), sudachi).ingest([docs])
    gen = IndexLayout(settings.index_dir).current_generation()
    assert gen is not None
    outline = read_outline(gen)
    doc_id = SME.stem
    assert set(outline) == {doc_id, "note"}  # a statute's and a text document's outline
    records = [json.loads(x) for x in (gen / "chunks.jsonl").read_text("utf-8").splitlines()]
    ids = {r["id"] for r in records}
    for d in (doc_id, "note"):
        assert all(n.chunk_id in ids for n in outline[d] if n.kind is not NodeKind.document)
    assert any(n.kind is NodeKind.heading and n.text == "見出し" for n in outline["note"])
    labels = {r["label"] for r in records if r["doc_id"] == doc_id}
    assert "中小企業基本法 第2条" in labels
    assert all(r["label"] == "" for r in records if r["doc_id"] == "note")
    manifest = IndexLayout(settings.index_dir).read_manifest()
    assert manifest.documents[doc_id].meta["effective"] == "2025-04-01"
    # an unchanged re-run keeps the outline; a change elsewhere rewrites the generation with it
    (docs / "note.md").write_text("# 見出し\n\n関西の中小企業を応援する。\n", "utf-8")
    report = Ingestor(settings, HashingEmbedder(), sudachi).ingest([docs])
    assert report.unchanged == [doc_id] and report.changed == ["note"]
    gen2 = IndexLayout(settings.index_dir).current_generation()
    assert gen2 is not None and gen2 != gen
    assert [n.to_json() for n in read_outline(gen2)[doc_id]] == [
        n.to_json() for n in outline[doc_id]
    ]


@pytest.mark.parametrize(
    ("file", "article", "n"),
    [
        ("404AC1000000110_20110830_423AC0000000105.html", "第三条", 5),  # 大阪湾臨海地域開発整備法
        ("362AC1000000072_20110830_423AC0000000105.html", "第六条", 5),  # 関西文化学術研究都市
        ("338AC0000000154_20250401_506AC0000000023.html", "第二条", 4),  # 中小企業基本法
    ],
)
def test_a_paragraph_that_announces_items_lists_its_go(file: str, article: str, n: int) -> None:
    """「次に掲げる事項」: the 号 under the paragraph are the members of its list."""
    from assistant.answer.outline import Outline
    from ingest.statute import parse

    path = RELATED / file
    statute = parse(path.read_text(encoding="utf-8"), path, "s")
    outline = Outline(statute.outline)
    leads = [
        n_
        for n_ in statute.outline
        if n_.kind is NodeKind.lead and n_.text.startswith(article + " ")
    ]
    assert leads, article
    members = outline.members(leads[0])
    assert len(members) >= n and members[0].text.startswith("一")


def test_a_short_name_written_in_a_title_s_characters_is_its_abbreviation() -> None:
    from assistant.answer.judge import _abbreviates
    from assistant.retrieval.searcher import Passage

    p = Passage(
        id="x#1",
        doc_id="x",
        title="関西文化学術研究都市建設促進法",
        section="第六条(建設計画の内容)",
        position={},
        text="建設計画には、次に掲げる事項を定めるものとする。",
        score=1.0,
    )
    assert _abbreviates("学研", [p])
    assert not _abbreviates("九州", [p])
    assert not _abbreviates("佐藤", [p])
    assert not _abbreviates("関西", [p])  # written as it is: not an abbreviation


@pytest.fixture(scope="module")
def sme_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, list]:  # type: ignore[type-arg]
    """中小企業基本法 through the pipeline: its outline with chunk ids, and its chunks."""
    docs = tmp_path_factory.mktemp("docs")
    shutil.copy(SME, docs / SME.name)
    settings = Settings(index_dir=tmp_path_factory.mktemp("index"), embedder="fake")
    Ingestor(settings, HashingEmbedder(), SudachiTokenizer()).ingest([docs])
    gen = IndexLayout(settings.index_dir).current_generation()
    assert gen is not None
    records = [json.loads(x) for x in (gen / "chunks.jsonl").read_text("utf-8").splitlines()]
    return read_outline(gen), records


@pytest.mark.parametrize(
    ("article", "starts", "label"),
    [
        # a quote from one 号 is cited by its 号
        ("中小企業基本法 第2条", ["二 資本金の額又は出資の総額が一億円以下"], "第2条第1項第2号"),
        ("中小企業基本法 第2条", ["三 資本金の額又は出資の総額が五千万円以下"], "第2条第1項第3号"),
        # a paragraph of an article with several: its 項
        ("中小企業基本法 第2条", ["5 この法律において「小規模企業者」とは"], "第2条第5項"),
        # a quote over two 号: the paragraph they share
        (
            "中小企業基本法 第2条",
            [
                "二 資本金の額又は出資の総額が一億円以下",
                "三 資本金の額又は出資の総額が五千万円以下",
            ],
            "第2条第1項",
        ),
        # an article of one paragraph is cited without 「第1項」
        ("中小企業基本法 第1条", ["第一条 この法律は"], "第1条"),
    ],
)
def test_a_quote_is_cited_by_the_paragraph_or_item_it_is_from(
    sme_index: tuple[dict, list],  # type: ignore[type-arg]
    article: str,
    starts: list[str],
    label: str,
) -> None:
    from assistant.answer.outline import Outline

    outline_by_doc, records = sme_index
    outline = Outline(n for nodes in outline_by_doc.values() for n in nodes)
    rec = next(r for r in records if r["label"] == article)
    lines = rec["text"].splitlines()
    quote = "\n".join(next(ln for ln in lines if ln.startswith(s)) for s in starts)
    assert outline.label_of(rec["id"], quote) == label
    assert outline.label_of(rec["id"], "どこにも書かれていない文です。") == ""
