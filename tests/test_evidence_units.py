"""Figure cues read from Sudachi's words, and the years each document speaks of."""

from __future__ import annotations

import re

import pytest

from assistant.answer.engine import CorpusStats
from assistant.answer.evidence import _unit_words
from assistant.answer.outline import Outline
from assistant.answer.text import split_sentences
from assistant.retrieval.searcher import Passage
from assistant.text.tokenizer import get_tokenizer

TOK = get_tokenizer("sudachi")


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "広域にわたる総合的な計画(以下「広域計画」という。)を作成し、規約を定める。次の文。",
            [
                "広域にわたる総合的な計画(以下「広域計画」という。)を作成し、規約を定める。",
                "次の文。",
            ],
        ),
        (
            "「関西チャレンジ」とする。これは(注。未定)です。",
            ["「関西チャレンジ」とする。", "これは(注。未定)です。"],
        ),
        ("普通の文。二つ目。", ["普通の文。", "二つ目。"]),
        (  # a 別表 line broken inside its brackets goes on with the sentence above
            "事務(都道府県の加入しない組合に係るものに限る。\n)及び第二条の事務。次。",
            ["事務(都道府県の加入しない組合に係るものに限る。)及び第二条の事務。", "次。"],
        ),
        (
            "閉じない括弧(2022。次の行まで。\n新しい行。",
            ["閉じない括弧(2022。次の行まで。", "新しい行。"],
        ),
    ],
)
def test_a_sentence_does_not_end_inside_brackets(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


@pytest.mark.parametrize(
    ("question", "cues"),
    [
        ("高齢化率は2040年にどうなる？", ["率"]),  # 高齢化 + 率: a rate in %
        ("日本の合計特殊出生率はいくつ？", []),  # one word: a ratio, not a percentage
        ("有効求人倍率はどのくらい？", []),
        ("ディーブテックバレー-KANSAIには何社が参加していますか？", ["何社"]),
        ("令和5年度の予算額は？", ["予算額"]),
        ("関西の国内シェアは何%？", ["シェア", "%"]),
        (
            "減収額が基準財政収入額の算定で考慮されるのは何年度分まで？",
            ["額", "何年度"],  # the interrogative's 何年度 goes first when a hint is chosen
        ),
        ("基準財政収入額の算定期間は？", []),
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


@pytest.mark.parametrize(
    "line",
    [
        "その告知を受けた日から三十日以内に当該広域連合の長に異議を申し出ることができる。",
        "脱退する日の二年前までに他の全ての構成団体に書面で予告をし",
        "通知を受けた日から六箇月以内に",
        "14日以内に届け出なければならない",
        "年度開始前二十日までに当該予算を議会に提出する",
        "議会の議決を経て、速やかに、広域計画を作成しなければならない",
    ],
)
def test_a_period_counted_from_an_event_answers_when(line: str) -> None:
    """「いつまでに異議を申し出れば？」 is answered by 「三十日以内」, in kanji or digits."""
    from assistant.answer.evidence import _WHEN
    from assistant.text.numerals import normalize_numbers

    assert _WHEN.search(normalize_numbers(line))


def test_a_period_in_some_statute_is_not_the_deadline_of_an_application() -> None:
    """「申請の締切も教えて」 about the vision's programmes is not answered by 地方自治法's
    「申請をした日から九十日以内に」: a deadline needs the documents to name one."""
    from assistant.answer.rules import load_rules
    from assistant.text.tokenizer import get_tokenizer

    deadline = load_rules(get_tokenizer()).needs["deadline"].evidence
    assert deadline is not None
    assert not deadline.search(
        "第一項の規定による申請をした日から九十日以内に、調停に付されないとき"
    )
    assert deadline.search("応募期間は令和5年6月30日まで")


def test_a_period_is_not_read_into_a_plain_number() -> None:
    from assistant.answer.evidence import _WHEN

    assert not _WHEN.search("委員三十人以内で組織する".replace("三十", "30"))


@pytest.mark.parametrize(
    ("line", "quantity"),
    [
        ("公表の日から三十日以内に、国土交通大臣に意見を申し出ることができる。", True),
        ("通知を受けた日から六箇月以内に", True),
        ("任期は、二年を超えることができない", True),
        ("二週間以上の期間を定めて", True),
        ("これらの措置がなされた最初の年度以降三箇年度におけるものに限る", True),
        ("認定の申請を受理した日から三月以内において速やかに", True),  # months, as statutes write
        ("公告の日から一月間公衆の縦覧に供しなければならない", True),
        ("発行済株式の総数の二分の一以上に当たる株式を保有しなければならない", True),
        ("10人に7人が都市部に居住", True),  # a share as people write it
        ("三 円滑かつ確実に実施されると見込まれるものであること。", False),  # an item's label
        ("十 万博の開催に向けた取組", False),
        ("第三十条の規定により", False),
        ("令和5年度に実施する", False),
        ("3月に公表した", False),  # a month of the calendar is no amount
    ],
)
def test_a_bounded_period_is_a_quantity(line: str, quantity: bool) -> None:
    """「どれくらいの期間内なら申し出られますか」 is answered by 「三十日以内」: a period with its
    bound is a figure; an article number or a year is not."""
    from assistant.answer.evidence import _QUANTITY
    from assistant.text.numerals import normalize_numbers

    assert bool(_QUANTITY.search(normalize_numbers(line))) is quantity


def test_a_question_that_names_a_document_s_title_names_that_document() -> None:
    stats = CorpusStats(
        "m",
        {},
        set(),
        set(),
        Outline([]),
        doc_titles={
            "中小企業基本法": "sme",
            "中小企業支援法": "support",
            "近畿圏整備法": "kinki",
            "地方自治法": "laj",
        },
    )
    assert stats.named_documents("中小企業基本法では「経営資源」は何を指す？") == ["sme"]
    assert stats.named_documents("近畿圏整備法の既成都市区域と地方自治法の広域連合") == [
        "kinki",
        "laj",
    ]
    assert stats.named_documents("中小企業の定義は？") == []  # no title, no filter
    # English: the words' Japanese joined is a title; "this vision" is the one ビジョン title
    assert stats.named_documents("Under the SME Support Act, who certifies providers?") == [
        "support"
    ]
    assert stats.named_documents("How is an SME defined?") == []
    with_vision = CorpusStats(
        "m",
        {},
        set(),
        set(),
        Outline([]),
        doc_titles={"関西広域産業ビジョン": "v", "地方自治法": "laj"},
    )
    assert with_vision.named_documents("What does this vision say about SMEs?") == ["v"]
    assert with_vision.named_documents("Is there a vision for SMEs?") == []


def test_the_start_of_a_long_title_names_its_document_and_scopes_the_search() -> None:
    stats = CorpusStats(
        "m",
        {},
        set(),
        set(),
        Outline([]),
        doc_titles={"関西文化学術研究都市建設促進法": "gakken", "地方自治法": "laj"},
    )
    q = "関西文化学術研究都市の建設計画にはどんな事項を定めますか"
    assert stats.named_documents(q) == ["gakken"]
    assert stats.scope_phrases(q) == ["関西文化学術研究都市"]
    assert stats.named_documents("関西の文化について") == []  # 5 characters are not a name


@pytest.mark.parametrize(
    "text",
    [
        "従業員の数が二十人(商業又はサービス業に属する事業を主たる事業として営む者については、五人)以下の事業者",
        "委員三十人以内で組織する",
        "従業員の数が20人以下",
    ],
)
def test_a_count_in_kanji_is_the_count_a_how_many_question_needs(text: str) -> None:
    from assistant.answer.judge import Judge
    from assistant.answer.rules import rules_for
    from assistant.answer.understand import Understander

    tok = get_tokenizer()
    judge = Judge(tok, rules_for(tok), None, 0.0)  # type: ignore[arg-type]
    part = Understander(tok).understand("小規模企業者とは何人以下の事業者ですか").parts[0]
    assert "count" in part.needs
    p = Passage(id="x#1", doc_id="x", title="t", section="s", position={}, text=text, score=1.0)
    assert judge.missing_needs(part, [p]) == []


@pytest.mark.parametrize(
    ("question", "period"),
    [
        ("意見を出せるのは何日以内？", True),
        ("何か月前までに届け出る？", True),
        ("何年に採択？", False),
    ],
)
def test_a_question_for_a_number_of_days_asks_a_period_not_a_year(
    question: str, period: bool
) -> None:
    """「何日以内？」 is not answered by the 昭和二十二年 of a law's citation: only a period is."""
    from assistant.answer.evidence import _ASKS_PERIOD, _PERIOD

    assert bool(_ASKS_PERIOD.search(question)) is period
    assert re.search(_PERIOD, "公表の日から30日以内に") and not re.search(_PERIOD, "昭和22年法律")


@pytest.mark.parametrize(
    ("question", "line", "frequency"),
    [
        ("計画は誰がどのくらいの頻度で作るんですか？", "経済産業大臣は、毎年、計画を定める", True),
        ("How often is the plan made?", "毎年度、前年度の状況を公表しなければならない", True),
        ("計画は誰がどのくらいの頻度で作るんですか？", "計画を定めるものとする", False),
    ],
)
def test_a_question_how_often_is_answered_by_a_frequency(
    question: str, line: str, frequency: bool
) -> None:
    """「どのくらいの頻度で」 asks how often: 「毎年」 answers it, no number is needed."""
    from assistant.answer.evidence import _ASKS_FREQUENCY, _FREQUENCY
    from assistant.answer.rules import load_rules

    assert _ASKS_FREQUENCY.search(question)
    assert bool(_FREQUENCY.search(line)) is frequency
    need = load_rules(TOK).needs["frequency"].evidence
    assert need is not None and bool(need.search(line)) is frequency


@pytest.mark.parametrize(
    ("name", "text", "abbreviated"),
    [
        ("新関空会社", "新関西国際空港株式会社(以下「会社」という。)は", True),
        ("学研", "関西文化学術研究都市建設促進法", True),
        ("山田製作所", "新関西国際空港株式会社は", False),
    ],
)
def test_a_short_name_whose_characters_a_passage_spells_out_abbreviates_it(
    name: str, text: str, abbreviated: bool
) -> None:
    from assistant.answer.judge import _abbreviates

    p = Passage(
        id="x", doc_id="d", title="関空法", section="第一条", position={}, text=text, score=1.0
    )
    assert _abbreviates(name, [p]) is abbreviated


@pytest.mark.parametrize(
    ("quantity", "hint", "ok"),
    [("10人に7人", "%", True), ("30%", "%", True), ("3人", "%", False), ("5億円", "円", True)],
)
def test_a_share_of_people_is_in_percent(quantity: str, hint: str, ok: bool) -> None:
    from assistant.answer.evidence import _of_unit

    assert _of_unit(quantity, hint) is ok


@pytest.mark.parametrize(
    ("question", "title"),
    [
        (
            "What does the Basic Act on the Promotion of Tourism Nation say about statistics?",
            "観光立国推進基本法",
        ),
        ("Under the Local Autonomy Act, who approves it?", "地方自治法"),
        ("Under the SME Support Act, who certifies them?", "中小企業支援法"),
    ],
)
def test_an_english_law_name_in_its_own_word_order_names_the_law(question: str, title: str) -> None:
    stats = CorpusStats(
        "m", {}, set(), set(), Outline([]), doc_titles={title: "law", "中小企業基本法": "sme"}
    )
    assert stats.named_documents(question) == ["law"]
