"""Cleaning of extracted text: what ends up in the passages a user reads."""

from __future__ import annotations

import pytest

from ingest.clean import clean_inline, clean_lines, clean_text, join_stray_spaces, nfkc
from tests.conftest import CORPUS_FILE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("成 長", "成長"),
        ("産業の 確立", "産業の確立"),
        ("競争力強化と魅力向上による成 長の好循環", "競争力強化と魅力向上による成長の好循環"),
        ("関西\u3000広域連合", "関西広域連合"),  # an ideographic space too
        ("新進 気鋭 の スタートアップ", "新進気鋭のスタートアップ"),
    ],
)
def test_stray_spaces_inside_japanese_are_joined(raw: str, expected: str) -> None:
    assert join_stray_spaces(raw) == expected
    assert clean_inline(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        "GRP額 150",
        "GRP額 150兆円",
        "約 150兆円",
        "AI の活用",
        "UNION OF KANSAI GOVERNMENTS",
        "MaaS 実現",
    ],
)
def test_spaces_next_to_latin_or_digits_are_kept(text: str) -> None:
    assert join_stray_spaces(text) == text
    assert clean_inline(text) == text


def test_runs_of_spaces_collapse_to_one() -> None:
    assert clean_inline("  GRP額   150\t兆円  ") == "GRP額 150 兆円"


def _corpus_table_row() -> str:
    for line in CORPUS_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("<p>新産業の創出・確立</p>"):
            return line
    raise AssertionError("the corpus no longer has the 関西チャレンジ① table row")


def test_html_table_row_from_the_corpus_becomes_cell_lines_without_tags() -> None:
    lines = clean_lines([_corpus_table_row()])
    texts = [ln.text for ln in lines]
    assert texts[:4] == [
        "新産業の創出・確立",
        "関西チャレンジ①",
        "「強みで貢献」",
        # the cell's PDF line breaks (「産業の 確立」) are joined as well
        "世界共通の課題解決に貢献する、関西の代名詞となりうる産業の確立",
    ]
    assert "どこよりも新たなチャレンジがしやすい、魅力的なスタートアップエコシステムの確立" in texts
    assert texts[-1].startswith("クラスターのビジョン")
    for t in texts:
        assert "<" not in t and ">" not in t and "/p" not in t, t
        assert t == t.strip() and t
    # every cell line still points at the one source line; the row ends a block
    assert {ln.line for ln in lines} == {1}
    assert [ln.block_end for ln in lines] == [False] * (len(lines) - 1) + [True]


def test_nfkc_makes_fullwidth_halfwidth_but_keeps_circled_numbers() -> None:
    assert nfkc("ＧＲＰ額１５０兆円（２０４０年度）") == "GRP額150兆円(2040年度)"
    assert nfkc("ｶｰﾎﾞﾝﾆｭｰﾄﾗﾙ") == "カーボンニュートラル"
    assert nfkc("関西チャレンジ①②③") == "関西チャレンジ①②③"
    assert clean_inline("関西チャレンジ①「強みで貢献」") == "関西チャレンジ①「強みで貢献」"


def test_control_and_zero_width_characters_are_removed() -> None:
    assert clean_inline("関西\x00広域\x07連合\u200b\ufeff") == "関西広域連合"
    assert clean_inline("数値\x1b目標") == "数値目標"


def test_entities_and_markdown_bold_are_unwrapped() -> None:
    assert clean_inline("産学官 &amp; 金融") == "産学官 & 金融"
    assert clean_inline("⇒ **多様性、迅速性をめざす**") == "⇒ 多様性、迅速性をめざす"


def test_clean_lines_keeps_line_numbers_and_blank_lines_as_breaks() -> None:
    lines = clean_lines(["【数値目標】", "", "関西の 経済", "\t"], page=3)
    assert [(ln.text, ln.line, ln.page) for ln in lines] == [
        ("【数値目標】", 1, 3),
        ("", 2, 3),
        ("関西の経済", 3, 3),
        ("", 4, 3),
    ]


def test_clean_lines_records_indent_of_nested_bullets() -> None:
    lines = clean_lines(["- デジタル活用", " - ・ 生産性の向上"])
    assert [ln.indent for ln in lines] == [0, 1]
    assert lines[1].text == "- ・生産性の向上"  # 「・ 生」 is two Japanese characters


def test_clean_text_of_a_document() -> None:
    raw = "関西の 強み\n\n<p>成 長</p> <p>確 立</p>\nＧＲＰ額 150"
    assert clean_text(raw) == "関西の強み\n\n成長\n確立\nGRP額 150"
