"""The guard repairs before it removes: markers given or corrected, figures matched across
notations, prompt markup cleaned. Real Sudachi, the hashing embedder, hand-made passages."""

from __future__ import annotations

import pytest

from assistant.answer.guard import Guard, clean_model_text, figures
from assistant.answer.text import split_answer
from assistant.embedding.fake import HashingEmbedder
from assistant.retrieval.searcher import Passage
from assistant.text.tokenizer import get_tokenizer


def _passage(n: int, text: str, section: str) -> Passage:
    return Passage(f"c{n}", "vision", "関西広域産業ビジョン", section, {}, text, 1.0)


BUDGET = _passage(
    1,
    "・関西スタートアップのポテンシャルの発信強化(予算額:13,043千円)\n"
    "・蓄電池人材の育成(予算額:1,780千円)",
    "関西広域連合による取組み > 令和5年度事業",
)
TARGET = _passage(
    2,
    "関西(広域経済圏*)の経済、産業の国内シェアを25%、GRP額を約150兆円とする。\n"
    "万博の経済効果は三億円と見込む。",
    "めざす将来像・目標 > 【数値目標】",
)


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard(get_tokenizer("sudachi"), HashingEmbedder())


def _run(guard: Guard, text: str) -> tuple[str, list[tuple[str, str]], int]:
    s = guard.session([BUDGET, TARGET])
    out = "".join(s.feed(clean_model_text(u)) for u in split_answer(text))
    cited = {c.n: c.section for c in s.citations()}
    assert {int(x) for x in __import__("re").findall(r"\[(\d+)\]", out)} == set(cited)
    return out, [(r.kind, r.reason) for r in s.removed], s.repaired


def test_a_sentence_without_a_marker_gets_the_marker_of_its_passage(guard: Guard) -> None:
    s = guard.session([BUDGET, TARGET])
    out = s.feed("関西の国内シェアを25%、GRP額を約150兆円とする目標です。")
    assert out.endswith("[1]") and s.repaired == 1 and s.removed == []
    assert s.citations()[0].section.endswith("【数値目標】")  # TARGET, the passage that says it


def test_a_wrong_marker_is_corrected_not_the_sentence_dropped(guard: Guard) -> None:
    s = guard.session([BUDGET, TARGET])
    out = s.feed("GRP額を約150兆円とする目標です。[1]")  # [1] is the budget list
    assert out.endswith("[1]") and s.repaired == 1 and s.removed == []
    assert s.citations()[0].section.endswith("【数値目標】")


def test_an_unsupported_sentence_is_dropped_and_listed(guard: Guard) -> None:
    out, removed, _ = _run(guard, "申請は市役所の窓口で受け付けます。[1]GRP額は約150兆円です。[2]")
    assert out == "GRP額は約150兆円です。[1]"
    assert [k for k, _ in removed] == ["unsupported"]


@pytest.mark.parametrize(
    ("sentence", "kept"),
    [
        ("蓄電池人材の育成の予算額は178万円です。[1]", True),  # 1,780千円, exactly
        ("蓄電池人材の育成の予算額は1,780千円です。[1]", True),
        ("蓄電池人材の育成の予算額は百七十八万円です。[1]", True),
        ("関西スタートアップのポテンシャルの発信強化の予算額は1304.3万円です。[1]", True),
        (
            "関西スタートアップのポテンシャルの発信強化の予算額は1,304万円です。[1]",
            False,
        ),  # rounded
        ("蓄電池人材の育成の予算額は179万円です。[1]", False),
        ("万博の経済効果は3億円と見込まれています。[2]", True),  # 三億円
        ("万博の経済効果は300,000,000円と見込まれています。[2]", True),
        ("万博の経済効果は4億円と見込まれています。[2]", False),
    ],
)
def test_figures_match_across_notations_only_when_exact(
    guard: Guard, sentence: str, kept: bool
) -> None:
    out, removed, _ = _run(guard, sentence)
    assert bool(out) is kept, (out, removed)
    if not kept:
        assert removed and "number" in removed[0][1]


def test_figures_read_units_and_kanji() -> None:
    assert figures("1,780千円") == [({"1780"}, 1_780_000.0)]
    assert figures("三億円と1億5000万円") == [({"3"}, 3e8), ({"1", "5000"}, 1.5e8)]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("GRP額は約150兆円です[1][1]。", "GRP額は約150兆円です[1]。"),
        ("</passage>[1]", "[1]"),
        ("</passages>GRP額は約150兆円です。[2]", "GRP額は約150兆円です。[2]"),
        ("目標は &gt; 150兆円 &amp;amp; 25%です。", "目標は > 150兆円 & 25%です。"),
        ("GRP額は約150兆円です【2】。", "GRP額は約150兆円です[2]。"),
        ("GRP額は約150兆円です[資料2][passage 2]。", "GRP額は約150兆円です[2]。"),
        ("回答: GRP額は約150兆円です。", "GRP額は約150兆円です。"),
        ("<b>関西</b>の<br/>目標", "関西の目標"),
    ],
)
def test_prompt_markup_and_entities_are_cleaned(raw: str, clean: str) -> None:
    assert clean_model_text(raw) == clean


def test_markup_and_doubled_markers_never_reach_the_answer(guard: Guard) -> None:
    out, _, _ = _run(
        guard,
        "</passage>[1]GRP額を約150兆円とする目標です。[2][2]\n[2]\n</passages>\n&lt;/passage&gt;",
    )
    assert out == "GRP額を約150兆円とする目標です。[1]\n\n\n"
    assert "<" not in out and "&" not in out and "[1][1]" not in out


def test_a_heading_quoted_as_the_answer_is_dropped(guard: Guard) -> None:
    out, removed, _ = _run(guard, "関西広域連合による取組み > 令和5年度事業[1]")
    assert out == "" and removed[0][0] == "markup"
    out, removed, _ = _run(guard, "【数値目標】。[2]")
    assert out == "" and removed[0][0] == "markup"
