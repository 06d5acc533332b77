"""Validate corpus/support-catalogue.json against the corpus it is derived from.

Every entry must be traceable: its quote is an exact substring of one line of the cleaned
corpus (the text the index uses), its section headings exist in that order before the quote,
and 事業 budgets equal the amounts written next to their names in the 令和5年度事業 list.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from ingest.clean import clean_text

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus" / "kansai-industrial-vision-2023.txt"
CATALOGUE = ROOT / "corpus" / "support-catalogue.json"

ENTRY_FIELDS = {
    "id",
    "name",
    "kind",
    "challenge",
    "section",
    "budget_thousand_yen",
    "fiscal_year",
    "quote",
    "industries",
    "goals",
    "sizes",
    "keywords_en",
    "why_ja",
}
VOCAB_FIELDS = ("industries", "goals", "sizes")
BUDGET_HEADER = "令和5年度事業《予算額:"
BUDGET_LINE = re.compile(r"^- ◇(?P<name>.+?) \((?P<amount>[\d,]+)千円\)$")
# The document lists 11 budget lines (the brief that commissioned the catalogue said 10).
EXPECTED_BUDGET_LINES = 11
IDEA_CHALLENGES = {"関西チャレンジ①", "関西チャレンジ②", "関西チャレンジ③"}
UNION_CHALLENGE = "関西広域連合による取組み"
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
NUMBER = re.compile(r"\d[\d,]*")


@cache
def catalogue() -> dict:
    return json.loads(CATALOGUE.read_text(encoding="utf-8"))


@cache
def clean_lines() -> tuple[str, ...]:
    return tuple(clean_text(CORPUS.read_text(encoding="utf-8")).split("\n"))


def entries() -> list[dict]:
    return catalogue()["entries"]


def budget_lines() -> dict[str, int]:
    """name -> amount (千円) for every line of the 令和5年度事業 list in the corpus."""
    lines = clean_lines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(BUDGET_HEADER))
    found: dict[str, int] = {}
    for ln in lines[start + 1 :]:
        match = BUDGET_LINE.match(ln)
        if match:
            found[match["name"]] = int(match["amount"].replace(",", ""))
        elif ln.strip():
            break
    return found


def line_index(needle: str, start: int = 0) -> int | None:
    """Index of the first cleaned line at or after start that contains needle."""
    for i, ln in enumerate(clean_lines()[start:], start=start):
        if needle in ln:
            return i
    return None


def by_id(kind: str | None = None) -> list[pytest.param]:
    return [
        pytest.param(e, id=e.get("id", "?"))
        for e in entries()
        if kind is None or e.get("kind") == kind
    ]


def test_top_level_shape() -> None:
    doc = catalogue()
    assert doc["source_doc"] == "kansai-industrial-vision-2023"
    assert "exact substring" in doc["note"]
    vocab = doc["vocabulary"]
    for field in (*VOCAB_FIELDS, "kinds", "challenges"):
        terms = vocab[field]
        assert terms, field
        assert all(isinstance(t, str) and t.strip() == t and t for t in terms), field
        assert len(terms) == len(set(terms)), f"duplicate term in vocabulary.{field}"
    assert set(vocab["kinds"]) == {"事業", "取組アイデア"}
    assert set(vocab["challenges"]) == {*IDEA_CHALLENGES, UNION_CHALLENGE}
    assert 35 <= len(entries()) <= 55


def test_ids_unique() -> None:
    ids = [e["id"] for e in entries()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_all_budget_lines_present_with_matching_amounts() -> None:
    in_corpus = budget_lines()
    assert len(in_corpus) == EXPECTED_BUDGET_LINES, in_corpus
    in_catalogue = {e["name"]: e["budget_thousand_yen"] for e in entries() if e["kind"] == "事業"}
    assert in_catalogue == in_corpus


@pytest.mark.parametrize("entry", by_id())
def test_entry_schema(entry: dict) -> None:
    assert set(entry) == ENTRY_FIELDS
    vocab = catalogue()["vocabulary"]
    assert SLUG.match(entry["id"]), entry["id"]
    for field in ("name", "section", "quote", "why_ja"):
        assert isinstance(entry[field], str), field
        assert entry[field].strip() == entry[field] and entry[field], field
    assert entry["kind"] in vocab["kinds"]
    assert entry["challenge"] in vocab["challenges"]
    for field in VOCAB_FIELDS:
        terms = entry[field]
        assert isinstance(terms, list) and terms, field
        assert len(terms) == len(set(terms)), f"duplicate in {field}"
        unknown = set(terms) - set(vocab[field])
        assert not unknown, f"{field} not in vocabulary: {sorted(unknown)}"
    keywords = entry["keywords_en"]
    assert isinstance(keywords, list) and keywords
    assert len(keywords) == len(set(keywords))
    for kw in keywords:
        assert kw.isascii() and kw == kw.lower() and kw.strip() == kw and kw, kw


@pytest.mark.parametrize("entry", by_id())
def test_quote_is_exact_and_within_one_line(entry: dict) -> None:
    quote = entry["quote"]
    assert 10 <= len(quote) <= 120, len(quote)
    assert "\n" not in quote
    assert line_index(quote) is not None, f"quote not found in one cleaned line: {quote!r}"


@pytest.mark.parametrize("entry", by_id())
def test_section_headings_exist_in_order_before_quote(entry: dict) -> None:
    segments = [s.strip() for s in entry["section"].split(" > ")]
    assert all(segments), entry["section"]
    assert segments[0] in (entry["challenge"], "将来像の実現・目標の達成に向けたアプローチ")
    assert entry["challenge"] in segments
    position = 0
    for segment in segments:
        found = line_index(segment, position)
        assert found is not None, f"heading {segment!r} not found (in order) in the corpus"
        position = found
    assert line_index(entry["quote"], position) is not None, "quote does not follow its section"


@pytest.mark.parametrize("entry", by_id())
def test_why_states_no_numbers_absent_from_corpus(entry: dict) -> None:
    text = "\n".join(clean_lines())
    for number in NUMBER.findall(entry["why_ja"]):
        assert number in text, f"why_ja mentions {number}, which the corpus does not"


@pytest.mark.parametrize("entry", by_id("事業"))
def test_budget_entry(entry: dict) -> None:
    assert entry["challenge"] == UNION_CHALLENGE
    assert entry["fiscal_year"] == "令和5年度"
    budget = entry["budget_thousand_yen"]
    assert isinstance(budget, int) and not isinstance(budget, bool) and budget > 0
    amount = f"({budget:,}千円)"
    assert entry["name"] in entry["quote"] and amount in entry["quote"]
    index = line_index(entry["quote"])
    assert index is not None
    match = BUDGET_LINE.match(clean_lines()[index])
    assert match, "quote must lie on a 令和5年度事業 budget line"
    assert match["name"] == entry["name"]
    assert int(match["amount"].replace(",", "")) == budget
    assert f"{budget:,}千円" in entry["why_ja"]
    assert "令和5年度" in entry["section"]


@pytest.mark.parametrize("entry", by_id("取組アイデア"))
def test_idea_entry(entry: dict) -> None:
    assert entry["challenge"] in IDEA_CHALLENGES
    assert entry["budget_thousand_yen"] is None
    assert entry["fiscal_year"] is None
    assert BUDGET_LINE.match(clean_lines()[line_index(entry["quote"]) or 0]) is None
    # Ideas are directions, not programmes one can apply to: the explanation says so.
    assert "申請できる制度ではありません" in entry["why_ja"]
