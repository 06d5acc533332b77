"""The chunker on the real corpus: sizes, sentence ends, no lost text, headings, positions."""

from __future__ import annotations

from collections import Counter

import pytest

from ingest.chunker import Chunk, Chunker
from ingest.clean import Line, clean_lines
from ingest.loaders import load
from tests.conftest import CORPUS_FILE

SENTENCE_ENDS = ("。", "！", "？", "!", "?")


@pytest.fixture(scope="module")
def meta() -> dict[str, dict[str, object]]:
    return load(CORPUS_FILE).meta  # type: ignore[return-value]


@pytest.fixture(scope="module")
def source_lines() -> list[Line]:
    """The source file's lines, read independently of the loader, then cleaned."""
    return clean_lines(CORPUS_FILE.read_text(encoding="utf-8").splitlines())


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker()


@pytest.fixture(scope="module")
def chunks(chunker: Chunker, meta: dict[str, dict[str, object]]) -> list[Chunk]:
    doc = load(CORPUS_FILE)
    return chunker.chunk(
        "kansai",
        doc.title,
        clean_lines(doc.pages[0]),
        aliases=meta["heading_aliases"],  # type: ignore[arg-type]
        levels=meta["heading_levels"],  # type: ignore[arg-type]
    )


def _by_line(lines: list[Line]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for ln in lines:
        if ln.text:
            out.setdefault(ln.line, []).append(ln.text)
    return out


def test_corpus_gives_a_reasonable_number_of_chunks(chunks: list[Chunk]) -> None:
    assert 30 <= len(chunks) <= 150
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_no_chunk_is_over_the_limit(chunks: list[Chunk], chunker: Chunker) -> None:
    sizes = [len(c.text) for c in chunks]
    assert max(sizes) <= chunker.limit, sizes


def test_chunks_never_end_mid_sentence(chunks: list[Chunk], source_lines: list[Line]) -> None:
    by_line = _by_line(source_lines)
    for c in chunks:
        last_piece = c.text.split("\n")[-1]
        at_line_end = any(t.endswith(last_piece) for t in by_line[c.line_end])
        assert c.text.endswith(SENTENCE_ENDS) or at_line_end, (c.index, c.text[-60:])


def test_every_content_line_lands_in_exactly_one_chunk(
    chunks: list[Chunk], source_lines: list[Line], meta: dict[str, dict[str, object]]
) -> None:
    aliases = meta["heading_aliases"]
    headings = {h for c in chunks for h in c.headings}
    headings |= {k for k, v in aliases.items() if v in headings}
    headings |= {k for k, v in meta["heading_levels"].items() if v}
    pieces = Counter(p for c in chunks for p in c.text.split("\n"))
    in_source = Counter(ln.text for ln in source_lines if ln.text)
    lost, duplicated = [], []
    for text, times in in_source.items():
        if text in headings:
            assert pieces[text] == 0, f"heading {text!r} also in a chunk's text"
            continue
        if pieces[text] == 0:
            lost.append(text)
        elif times == 1 and pieces[text] > 1:
            duplicated.append(text)
    assert not lost, lost
    assert not duplicated, duplicated
    # and nothing appears in the chunks that is not in the source
    assert set(pieces) <= set(in_source)


def test_heading_path_of_the_deeptech_valley_brand(chunks: list[Chunk]) -> None:
    [c] = [c for c in chunks if "ディーブテックバレー-KANSAI" in c.text]
    assert "関西チャレンジ①" in c.section
    assert "A 新産業のビジネスエコシステム確立" in c.headings
    assert c.headings[0].startswith("関西チャレンジ①「強みで貢献」")  # the sidecar alias
    assert c.section == " > ".join(c.headings)
    assert c.index_text().startswith(c.section + "\n")


def test_numeric_target_chunks(chunks: list[Chunk]) -> None:
    target = [c for c in chunks if c.headings and c.headings[-1] == "【数値目標】"]
    text = "\n".join(c.text for c in target)
    assert "25%" in text and "約150兆円" in text
    assert all(c.section.startswith("めざす将来像・目標") for c in target)


def test_fiscal_2023_budget_list_stays_in_one_chunk(chunks: list[Chunk]) -> None:
    holders = [c for c in chunks if "◇" in c.text]
    assert len(holders) == 1
    [c] = holders
    in_source = CORPUS_FILE.read_text(encoding="utf-8").count("◇")
    assert in_source >= 10
    assert c.text.count("◇") == in_source
    assert "令和5年度事業《予算額:55,969千円》" in c.section
    assert "関西スタートアップのポテンシャルの発信強化" in c.text
    assert "「from NOW ON KANSAI」の発行等" in c.text


def test_positions_map_back_to_the_source_lines(
    chunks: list[Chunk], source_lines: list[Line]
) -> None:
    by_line = _by_line(source_lines)
    raw = CORPUS_FILE.read_text(encoding="utf-8").splitlines()
    for c in chunks:
        assert 1 <= c.line_start <= c.line_end <= len(raw)
        assert c.page_start is None and c.page_end is None
        window = [t for n in range(c.line_start, c.line_end + 1) for t in by_line.get(n, [])]
        for piece in c.text.split("\n"):
            assert any(piece in t for t in window), (c.index, piece, c.line_start, c.line_end)
    [c] = [c for c in chunks if "ディーブテックバレー" in c.text]
    assert "ディーブテックバレー" in raw[c.line_start - 1 : c.line_end][0] or any(
        "ディーブテックバレー" in r for r in raw[c.line_start - 1 : c.line_end]
    )


def test_chunking_is_deterministic(chunker: Chunker, chunks: list[Chunk]) -> None:
    doc = load(CORPUS_FILE)
    again = chunker.chunk(
        "kansai",
        doc.title,
        clean_lines(doc.pages[0]),
        aliases=doc.meta["heading_aliases"],  # type: ignore[arg-type]
        levels=doc.meta["heading_levels"],  # type: ignore[arg-type]
    )
    assert [c.chunk_id for c in again] == [c.chunk_id for c in chunks]


# ---- synthetic documents: the size rules ------------------------------------------------
def _sentences(n: int) -> list[str]:
    return [
        f"関西の産業{i}番目の取組みについて、具体的な説明をここに記載します。" for i in range(n)
    ]


def test_a_long_paragraph_is_cut_at_sentence_ends_under_the_limit() -> None:
    chunker = Chunker()
    sentences = _sentences(60)  # ~2,000 characters on one line
    chunks = chunker.chunk("d", "t", clean_lines(["# 取組み", "", "".join(sentences)]))
    assert len(chunks) > 1
    assert all(len(c.text) <= chunker.limit for c in chunks), [len(c.text) for c in chunks]
    assert all(c.text.endswith("。") for c in chunks)
    assert "".join(c.text for c in chunks) == "".join(sentences)
    assert {(c.line_start, c.line_end) for c in chunks} == {(3, 3)}


def test_a_long_list_without_blank_lines_is_split_between_items() -> None:
    chunker = Chunker()
    items = [f"- 項目{i}:" + s for i, s in enumerate(_sentences(40))]
    chunks = chunker.chunk("d", "t", clean_lines(["# 一覧", "", *items]))
    assert len(chunks) > 1
    assert all(len(c.text) <= chunker.limit for c in chunks), [len(c.text) for c in chunks]
    assert [p for c in chunks for p in c.text.split("\n")] == items
    assert all(c.section == "一覧" for c in chunks)


def test_a_single_sentence_longer_than_the_limit_is_kept_whole() -> None:
    chunker = Chunker()
    sentence = "、".join(f"関西の強み{i}" for i in range(120)) + "。"
    assert chunker.limit < len(sentence) <= chunker.hard_limit
    chunks = chunker.chunk("d", "t", clean_lines([sentence]))
    assert [c.text for c in chunks] == [sentence]


def test_a_runaway_sentence_is_cut_at_the_hard_limit() -> None:
    chunker = Chunker()
    runaway = "".join(f"関西{i:04d}" for i in range(500))  # 3,000 characters, no 。
    chunks = chunker.chunk("d", "t", clean_lines([runaway]))
    assert all(len(c.text) <= chunker.hard_limit for c in chunks)
    assert "".join(c.text for c in chunks) == runaway


def test_markdown_headings_build_the_section_path() -> None:
    lines = clean_lines(
        [
            "# 第1章",
            "",
            "本文その一。",
            "",
            "## 第1節",
            "",
            "本文その二。",
            "",
            "# 第2章",
            "",
            "本文三。",
        ]
    )
    chunks = Chunker().chunk("d", "t", lines)
    assert [(c.section, c.text) for c in chunks] == [
        ("第1章", "本文その一。"),
        ("第1章 > 第1節", "本文その二。"),
        ("第2章", "本文三。"),
    ]
