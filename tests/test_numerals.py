"""Kanji numerals ≡ Arabic digits, and old kana ≡ modern, in the search form of a text."""

from __future__ import annotations

import pytest

from assistant.text.kana import modernize_kana
from assistant.text.normalize import search_form
from assistant.text.numerals import kanji_value, normalize_numbers, number_values, to_arabic
from assistant.text.tokenizer import CharBigramTokenizer, SudachiTokenizer

SAME = [
    ("三億円", "3億円"),
    ("二十人", "20人"),
    ("第二百八十四条", "第284条"),
    ("五千万円", "5,000万円"),
    ("五千万円", "5000万円"),
    ("第二百九十一条の二", "第291条の2"),
    ("三百人以下", "300人以下"),
    ("一億五千万円", "1億5000万円"),
    ("十億円", "10億円"),
    ("昭和四八年一〇月一五日", "昭和48年10月15日"),
    ("第二条第一項第一号", "第2条第1項第1号"),
    ("二分の一", "2分の1"),
    ("一万二千三百四十五円", "12,345円"),
    ("令和五年度", "令和5年度"),
    ("年十四・五パーセント", "年14.5パーセント"),  # a statute's decimal point
    ("五・五倍", "5.5倍"),
]

# words that hold a digit kanji but are no number: must come out unchanged
NOT_NUMBERS = [
    "一体的かつ効率的",
    "一般",
    "統一",
    "統一的な",
    "同一の",
    "唯一の",
    "一部",
    "一層",
    "一定の",
    "一環として",
    "一元的",
    "一括して",
    "一致する",
    "十分な",
    "十分に",
    "万一",
    "万全",
    "大阪・関西万博",
    "三重県",
    "九州",
    "四国",
    "千代田区",
    "百貨店",
    "一人ひとり",
    "一員",
    "一翼を担う",
    "関西の一体感",
    "一方で",
    "一旦",
    "数十人",
    "一流の",
]


@pytest.mark.parametrize(("kanji", "arabic"), SAME)
def test_kanji_and_arabic_have_the_same_search_form(kanji: str, arabic: str) -> None:
    assert normalize_numbers(kanji) == normalize_numbers(arabic)


@pytest.mark.parametrize("word", NOT_NUMBERS)
def test_words_with_digit_kanji_are_left_alone(word: str) -> None:
    assert to_arabic(word) == word
    assert normalize_numbers(word) == word


def test_citation_numbers_become_arabic() -> None:
    assert to_arabic("第二百九十一条の二第一項") == "第291条の2第1項"
    assert to_arabic("中小企業基本法第二条第五項") == "中小企業基本法第2条第5項"


def test_round_numbers_keep_their_unit_others_are_written_out() -> None:
    assert to_arabic("五千万円") == "5000万円"
    assert to_arabic("一万二千三百四十五円") == "12345円"
    assert to_arabic("三億円") == "3億円"


def test_values_of_figures_written_several_ways() -> None:
    assert number_values("三億円") == number_values("3億円") == number_values("300,000,000円")
    assert number_values("五千万円") == [50_000_000.0]
    assert number_values("従業員二十人以下") == [20.0]
    assert number_values("一体的に") == []


def test_kanji_value() -> None:
    assert kanji_value("二百八十四") == 284
    assert kanji_value("四八") == 48
    assert kanji_value("一〇") == 10
    assert kanji_value("千") == 1000
    assert kanji_value("一億二千万") == 120_000_000
    assert kanji_value("abc") is None


@pytest.mark.parametrize(
    ("old", "modern"),
    [
        ("個人であつて", "個人であって"),
        ("基本理念にのつとり", "基本理念にのっとり"),
        ("これによつて", "これによって"),
        ("計画に従つて", "計画に従って"),
        ("実施に当たつては", "実施に当たっては"),
        ("処分を行つた", "処分を行った"),
        ("紛争のあつせん", "紛争のあっせん"),
    ],
)
def test_old_kana_is_searchable_as_modern(old: str, modern: str) -> None:
    assert modernize_kana(old) == modern
    assert search_form(old) == search_form(modern)


@pytest.mark.parametrize(
    "text",
    ["について", "につき", "かつ、", "しつつ", "一つずつ", "持つこと", "つかさどる", "かつて"],
)
def test_real_tsu_stays(text: str) -> None:
    assert modernize_kana(text) == text


def test_tokenizers_match_kanji_and_arabic(sudachi: SudachiTokenizer) -> None:
    q = sudachi.tokenize("小規模企業者は20人以下")
    doc = sudachi.tokenize(
        "小規模企業者とは、おおむね常時使用する従業員の数が二十人以下の事業者をいう"
    )
    assert "20" in q and "20" in doc
    assert sudachi.tokenize("にのつとり") == sudachi.tokenize("にのっとり")
    bigram = CharBigramTokenizer()
    assert set(bigram.tokenize("二十人")) == set(bigram.tokenize("20人"))
    assert bigram.tokenize("であつて") == bigram.tokenize("であって")


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("一・二・三パーセント", "1・2・3パーセント"),
        ("十四・五", "14・5"),
        ("第一号・第二号", "第1号・第2号"),
    ],
)
def test_a_middle_dot_is_a_decimal_point_only_before_a_unit(text: str, form: str) -> None:
    assert normalize_numbers(text) == form
