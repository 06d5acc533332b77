"""Figure cues read from Sudachi's words, and the years each document speaks of."""

from __future__ import annotations

import pytest

from assistant.answer.engine import CorpusStats
from assistant.answer.evidence import _unit_words
from assistant.answer.outline import Outline
from assistant.retrieval.searcher import Passage
from assistant.text.tokenizer import get_tokenizer

TOK = get_tokenizer("sudachi")


@pytest.mark.parametrize(
    ("question", "cues"),
    [
        ("高齢化率は2040年にどうなる？", ["率"]),  # 高齢化 + 率: a rate in %
        ("日本の合計特殊出生率はいくつ？", []),  # one word: a ratio, not a percentage
        ("有効求人倍率はどのくらい？", []),
        ("ディーブテックバレー-KANSAIには何社が参加していますか？", ["何社"]),
        ("令和5年度の予算額は？", ["予算額"]),
        ("関西の国内シェアは何%？", ["シェア", "%"]),
    ],
)
def test_unit_cues_are_words_of_their_own(question: str, cues: list[str]) -> None:
    assert _unit_words(TOK.parse(question)) == cues


def _passage(doc: str) -> Passage:
    return Passage("x", doc, doc, "", {}, "text", 1.0)


def test_the_years_of_an_answer_are_those_of_its_documents() -> None:
    stats = CorpusStats(
        "m",
        {},
        set(),
        {"2023", "2024"},
        Outline([]),
        doc_years={"vision": {"2023"}, "law": {"2024"}},
    )
    assert stats.years_of([_passage("vision")]) == {"2023"}  # no 令和6年度 budget in the vision
    assert stats.years_of([_passage("vision"), _passage("law")]) == {"2023", "2024"}
    assert stats.years_of([]) == {"2023", "2024"}
