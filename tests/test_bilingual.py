"""English questions over Japanese documents: the glossary and what it does to answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.text.bilingual import Glossary, default_glossary, era_year, lemma, lexical_query


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("startups", "startup"),
        ("companies", "company"),
        ("Values", "value"),
        ("Union's", "union"),
        ("businesses", "business"),
        ("process", "process"),  # -ss is not a plural
        ("status", "status"),
    ],
)
def test_lemma(word: str, expected: str) -> None:
    assert lemma(word) == expected


def test_fiscal_years_in_the_japanese_era() -> None:
    assert era_year(2023) == ["2023年度", "令和5年度", "2023年"]
    assert era_year(2019) == ["2019年度", "令和元年度", "2019年"]
    assert era_year(2010) == ["2010年度", "平成22年度", "2010年"]


def test_terms_prefer_phrases_drop_function_words_keep_unknown_words() -> None:
    g = default_glossary()
    terms = g.terms("How much does the Union spend on medical devices and MaaS in FY2023?")
    assert "医療機器" in terms  # the phrase, not 医療 + 機器 separately
    assert "機器" not in terms
    assert {"連合", "予算", "MaaS", "令和5年度"} <= set(terms)
    assert not {"How", "much", "does", "the", "on", "and", "in"} & set(terms)


def test_verb_forms_find_their_entry() -> None:
    g = default_glossary()
    assert "推進" in g.terms("promoting")
    assert "目標" in g.terms("targeted")


def test_search_text_keeps_japanese_already_in_the_query() -> None:
    g = default_glossary()
    assert g.search_text("スタートアップ支援 budget").startswith("スタートアップ支援 ")
    assert "予算" in g.search_text("スタートアップ支援 budget")
    assert g.search_text("the of and") == ""


def test_glossary_file_format(tmp_path: Path) -> None:
    f = tmp_path / "g.tsv"
    f.write_text("# comment\nsmall business\t中小企業 小規模\nbudget\t予算\nbudget\t予算額\n\n")
    g = Glossary.load(f)
    assert g.entries["small business"] == ("中小企業", "小規模")
    assert g.entries["budget"] == ("予算", "予算額")  # repeated lines add terms
    assert g.longest == 2
    assert g.terms("Small businesses' budgets") == ["中小企業", "小規模", "予算", "予算額"]


def test_lexical_query_only_changes_english_questions() -> None:
    assert lexical_query("スタートアップの予算は？", "ja") == "スタートアップの予算は？"
    assert "予算" in lexical_query("What is the startup budget?", "en").split()
    assert lexical_query("the of and", "en") == "the of and"  # nothing to look for: unchanged
