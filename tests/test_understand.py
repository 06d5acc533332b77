"""Question understanding (assistant/answer/understand.py): several wordings per behaviour."""

from __future__ import annotations

import pytest

from assistant.answer.types import Message, Mode
from assistant.answer.understand import Asks, Role, Understander, When
from assistant.text.tokenizer import get_tokenizer

U = Understander(get_tokenizer("sudachi"))


@pytest.mark.parametrize(
    ("message", "names"),
    [
        ("株式会社山田製作所の佐藤です。GRPの目標額を教えてください。", {"佐藤"}),
        (
            "いつもお世話になっております。タナカ精機の田中と申します。予算を教えてください。",
            {"田中"},
        ),
        ("経済紙記者の森です。高齢化率の数字をお願いします", {"森"}),
        ("京阪テック(株) 新規事業開発部 部長の西田です。医療機器相談の予算は？", {"西田"}),
        ("堺市で小さな町工場をやってる中村といいます。関西チャレンジ③って何？", {"中村"}),
        ("数値目標は？\n\n株式会社みなと食品 総務部 小川 美咲", {"小川", "美咲"}),
        (
            "My name is Laura Becker from Rheinwerk Components GmbH. What is the GRP target?",
            {"Laura Becker"},
        ),
    ],
)
def test_the_askers_name_and_company_are_not_what_is_asked(message: str, names: set[str]) -> None:
    u = U.understand(message)
    assert names <= set(u.asker.names)
    assert u.parts, "the question itself is still there"
    for p in u.parts:
        for n in names:
            assert n not in p.subject and n not in p.phrase and n not in p.names


@pytest.mark.parametrize(
    "sentence",
    [
        "いつもお世話になっております。",
        "よろしくお願いいたします。",
        "お忙しいところ恐縮ですが、",
        "関西広域連合 広域産業振興局 御中",
        "以下の問い合わせメールに返信したいので、丁寧な文案を作ってください。",
        "Dear Sir/Madam,",
        "Best regards,",
    ],
)
def test_salutations_and_closings_are_social(sentence: str) -> None:
    u = U.understand(f"{sentence}\n数値目標を教えてください。")
    assert u.sentences[0].role is Role.social
    assert len(u.parts) == 1


@pytest.mark.parametrize(
    ("message", "n_parts", "needs"),
    [
        (
            "関西スタートアップのポテンシャルの発信強化の事業と予算、それから申請の締切を教えて",
            2,  # 「、それから」 adds an ask of its own
            {"deadline"},
        ),
        ("数値目標を教えてください。それから担当部署の電話番号もお願いします。", 2, {"contact"}),
        ("医療機器相談の予算と、相談の受付時間を知りたいです", 2, {"hours"}),
        (
            "ディーブテックバレー-KANSAIってなに？うちの会社が参加するにはどうしたらいい？",
            2,
            {"application"},
        ),
        ("シナジーとは何ですか？また、補助率は何割ですか？", 2, {"subsidy_rate"}),
    ],
)
def test_multi_part_questions_are_split_and_each_need_is_kept(
    message: str, n_parts: int, needs: set[str]
) -> None:
    u = U.understand(message)
    assert len(u.parts) == n_parts, [p.text for p in u.parts]
    assert needs <= {n for p in u.parts for n in p.needs}


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("関西広域連合の4つのバリューは？", Asks.list),
        ("令和5年度事業を全部挙げて", Asks.list),
        ("What are the three Kansai Challenges?", Asks.list),
        ("シナジーとはどういう意味？", Asks.definition),
        ("VUCAって何？", Asks.definition),
        ("第二創業の意味を教えて", Asks.definition),
        ("GRPの目標額はいくら？", Asks.amount),
        ("国内シェアは何％をめざす？", Asks.amount),
        ("令和5年度事業は何件ありますか", Asks.how_many),
        ("パリ協定はいつ採択された？", Asks.date),
        ("意見を出せるのは何日以内？", Asks.date),
        ("届出は何か月前までに必要ですか", Asks.date),
        ("GRPの約150兆円はどうやって出した数字？", Asks.how),
        ("水素について触れていますか？", Asks.yesno),
        ("Does the vision mention hydrogen?", Asks.yesno),
        ("GRPの目標額が前回より下がったのはなぜ？", Asks.why),
        ("京都の食品メーカーです。海外に輸出したいのですが、使える支援は？", Asks.support),
        ("弊社は大阪の町工場です。DXを進めたいのですが、対象になる事業はありますか", Asks.support),
        # 「どんな」 + what a need asks for is that thing (how, where), not a list of kinds
        ("大阪湾臨海地域って、どんな手続を経て指定されるの？", Asks.how),
        ("広域連合を設けるにはどのような手続きが必要ですか", Asks.how),
        ("セミナーはどんな場所で開かれますか", Asks.where),
        ("どんな取組みがありますか", Asks.list),
        # an English yes-no question is not a list for its "all the"; a list verb makes one
        ("Is the government required to own all the shares of the company?", Asks.other),
        ("Must all the members be appointed by the governor?", Asks.other),
        ("Can you list all the values of the Union?", Asks.list),
        ("What are all the challenges?", Asks.list),
        # 「って何がある」 asks which things (何 + が), 「って何？」 what a word means; a figure's
        # noun inside a quoted title is part of the name
        (
            "チャレンジ②で「デジタル活用による生産性の向上」の例として挙がってるのって何がある?",
            Asks.list,
        ),
        ("関西チャレンジって何がある？", Asks.list),
        ("ビジョンの重点分野って何が書いてある？", Asks.list),
        ("「労働生産性」はどのくらい？", Asks.amount),
        ("ウェルビーイングって何？", Asks.definition),
        # a topic, then どんな + one noun that ends the question: what it is
        ("関西広域産業ビジョンってどんな文書？", Asks.definition),
        ("シナジーとはどういうものですか", Asks.definition),
        ("関西チャレンジにはどんなものがある？", Asks.list),
        # "value" is the vision's word for its four バリュー, not a figure
        ("Tell me about the spillover value", Asks.other),
    ],
)
def test_what_is_asked(question: str, asks: Asks) -> None:
    u = U.understand(question)
    assert u.parts and u.parts[0].asks is asks, [(p.asks, p.text) for p in u.parts]


@pytest.mark.parametrize(
    "question",
    [
        "関西の現在のGRPは？",
        "関西の今のGRPはいくら？",
        "関西のGRP、足元ではどのくらいの規模？",
        "直近の関西のGRPを教えて",
        "最新のGRPの値は？",
        "GRP額の実績値はいくらですか？",
        "関西の現時点のGRPはどのくらい？",
        "What is Kansai's GRP right now?",
        "What is the current GRP of Kansai?",
        "How big is Kansai's GRP as of today?",
        "What is the actual GRP?",
    ],
)
def test_todays_value_is_recognised_in_any_wording(question: str) -> None:
    p = U.understand(question).parts[0]
    assert p.asks is Asks.amount and p.when is When.now, (p.asks, p.when)


@pytest.mark.parametrize(
    "question",
    [
        "2040年度にはGRPをどれくらいにする目標？",
        "GRPの目標額は？",
        "By 2040, what GRP is Kansai aiming for?",
    ],
)
def test_a_target_question_is_not_a_current_value_question(question: str) -> None:
    p = U.understand(question).parts[0]
    assert p.when is not When.now


def test_a_year_of_the_past_is_kept_for_the_evidence_to_date() -> None:
    p = U.understand("2023年の関西のGRPを教えて下さい").parts[0]
    assert p.asks is Asks.amount and "2023" in p.years


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("こんにちは", "greeting"),
        ("Hello!", "greeting"),
        ("ありがとうございました、とても助かりました。", "thanks"),
        ("Thanks a lot!", "thanks"),
        ("テスト", "test"),
        ("さようなら", "bye"),
        ("are you a bot?", "identity"),
        ("あなたは誰ですか？", "identity"),
        # a remark on the exchange names nothing to search
        ("ありがとうございました。説明がわかりやすかったです", "thanks"),
        ("とても丁寧な回答で助かりました。", "thanks"),
        ("ありがとう。とても参考になりました。", "thanks"),
        ("よく分かりました！", "thanks"),
        # the question offers an alternative in a second sentence
        ("あなたってAI？それとも中の人がいるの？", "identity"),
        ("君はロボット？それとも本物の人間？", "identity"),
        ("あなたは人間ですか。あるいはAIですか？", "identity"),
        ("Are you a bot? Or a real person?", "identity"),
        # an acknowledgement takes the answer in and asks nothing more
        ("了解です", "ack"),
        ("承知しました。", "ack"),
        ("かしこまりました", "ack"),
        ("OK, got it.", "ack"),
        ("Alright, understood.", "ack"),
        ("thx", "thanks"),
        ("Perfect, that helps a lot.", "thanks"),
        ("Hello, is anyone there?", "greeting"),
    ],
)
def test_chit_chat(question: str, kind: str) -> None:
    u = U.understand(question)
    assert u.chitchat == kind and not u.parts


@pytest.mark.parametrize(
    "question",
    [
        "こんにちは。GRPの目標は？",
        "ありがとう。それで予算は？",
        "AIについて触れていますか？",
        "ありがとう。次は関西パビリオンの予算。",
        "詳しく説明してください",
        "関西の成長率は高かったですか",
        "あなたってAI？それとも関西パビリオンの予算を教えて",
    ],
)
def test_a_greeting_with_a_question_is_a_question(question: str) -> None:
    u = U.understand(
        question, [Message("user", "関西スタートアップの発信強化は？"), Message("assistant", "…")]
    )
    assert u.chitchat is None and u.parts


@pytest.mark.parametrize(
    "question", ["その予算は？", "それはいくら？", "予算はどれくらい？", "What is its budget?"]
)
def test_a_follow_up_carries_the_subject_over(question: str) -> None:
    history = [
        Message("user", "関西パビリオンについて教えて"),
        Message(
            "assistant", "「関西パビリオン」をゲートウェイとした発信・誘客が挙げられています。"
        ),
    ]
    p = U.understand(question, history).parts[0]
    assert "関西パビリオン" in p.inherited
    assert "パビリオン" in p.subject


@pytest.mark.parametrize(
    "question",
    [
        "じゃあ2030年にはどこまで伸びる見込み？",
        "2030年にはどのくらい拡大する？",
        "2030年にはどこまで増える？",
        "2030年は？",
    ],
)
def test_a_follow_up_naming_only_a_year_and_a_verb_keeps_the_subject(question: str) -> None:
    history = [
        Message("user", "先端技術を扱う世界市場って、2020年はどれくらいの規模？"),
        Message("assistant", "先端技術を扱う世界市場は1兆5,000億ドル(2020)とされています。"),
    ]
    p = U.understand(question, history).parts[0]
    assert "市場" in p.subject and p.inherited
    assert "location" not in p.needs  # どこまで asks how far, not where


@pytest.mark.parametrize(
    ("question", "n"),
    [
        ("国際的にはどんな合意があって、関西広域連合としてはどんな事業をしていますか？", 2),
        ("予算はいくらで、いつまでに申請すればいいですか", 1),
        ("海外展開を考えていて、どんな支援が使えますか", 1),
    ],
)
def test_two_questions_joined_by_te_are_two_parts(question: str, n: int) -> None:
    assert len(U.understand(question).parts) == n


@pytest.mark.parametrize(
    "question",
    [
        "GRPの目標額はいくらですか？それと、前回改訂版で掲げていた目標額はいくらだったんでしょう？",
        "GRPの目標は？前回の目標はいくらでしたか？",
        "GRPの目標額と、以前の目標額を教えて",
    ],
)
def test_the_same_figure_at_another_time_is_a_part_of_its_own(question: str) -> None:
    parts = U.understand(question).parts
    assert [p.when for p in parts] == [When.target, When.past]
    assert "grp" in parts[1].subject and parts[1].phrase == parts[0].phrase


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("「…チャレンジ」の中で取り上げれてる分野ってなんでしたっけ?", Asks.list),
        ("挙げられている事業とは何ですか", Asks.list),
        ("取り上げられてる分野ってなに？", Asks.list),
        ("VUCAって何？", Asks.definition),
        ("スピルオーバーとは何ですか", Asks.definition),
        ("関西の強みとは？", Asks.definition),
        ("万博で目指される姿とはどういうもの？", Asks.definition),
    ],
)
def test_what_of_a_noun_modified_by_a_clause_asks_for_its_members(
    question: str, asks: Asks
) -> None:
    assert U.understand(question).parts[0].asks is asks


@pytest.mark.parametrize(
    ("question", "word"),
    [
        ("海外展開を考えているんですけど、どんな支援がありますか", "海外"),
        ("輸出を検討しており、使える事業はありますか", "輸出"),
        (
            "補助金の申請書に「経営資源」と出てくるのですが、中小企業基本法ではこれは何を指していますか。",
            "資源",
        ),
    ],
)
def test_a_question_about_the_situation_before_it_takes_its_subject(
    question: str, word: str
) -> None:
    """The clause that states the asker's situation is not searched as a part of its own, but
    what a bare question (「どんな支援が」, 「これは何を」) is about comes from it."""
    parts = U.understand(question).parts
    assert len(parts) == 1 and word in parts[0].subject


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("中小企業基本法の「経営資源」とは何ですか？", "経営資源"),
        ("地方自治法でいう「自治事務」とは？", "自治事務"),
        ("「関西(広域経済圏)」とは何ですか", "関西(広域経済圏)"),
    ],
)
def test_the_term_defined_is_the_quoted_word_not_its_law(question: str, term: str) -> None:
    p = U.understand(question).parts[0]
    assert p.asks is Asks.definition and p.term == term, p.term


def test_a_quoted_term_in_the_situation_is_the_term_defined() -> None:
    p = U.understand(
        "補助金の申請書に「経営資源」と出てくるのですが、中小企業基本法ではこれは何を指していますか。"
    ).parts[0]
    assert p.asks is Asks.definition and p.term == "経営資源" and not p.needs


def test_a_part_naming_only_the_publisher_takes_the_message_s_topic() -> None:
    u = U.understand(
        "海のプラごみ問題に関心があります。関西広域連合としてはどんな事業をしていますか？"
    )
    assert "ごみ" in u.parts[-1].subject


@pytest.mark.parametrize(
    "question",
    [
        "How big was the Union of Kansai Governments' FY2023 budget?",
        "How much is Kansai's FY2023 budget?",
    ],
)
def test_english_shape_words_and_possessives_are_not_the_subject(question: str) -> None:
    p = U.understand(question).parts[0]
    assert not {"big", "much", "governments'", "kansai's"} & set(p.subject)


def test_a_follow_up_takes_the_names_the_previous_answer_quoted() -> None:
    history = [
        Message("user", "関西広域連合はスタートアップ向けにどんな事業をしていますか？"),
        Message(
            "assistant",
            "令和5年度事業として「関西スタートアップのポテンシャルの発信強化」を実施しています。",
        ),
    ]
    p = U.understand("その予算は？", history).parts[0]
    assert "関西スタートアップのポテンシャルの発信強化" in p.inherited


def test_within_a_message_a_question_refers_to_the_sentence_before() -> None:
    u = U.understand(
        "当社は京都で佃煮を製造しております。地域の産品の魅力を発信する事業があると伺いました。"
        "令和5年度にそうした事業はありますか。予算規模も教えてください。",
        mode=Mode.draft,
    )
    assert "魅力を発信する事業" in u.parts[0].inherited
    assert any(p.asks is Asks.amount for p in u.parts) and u.wants_support


@pytest.mark.parametrize(
    "message",
    [
        "ありがとうございました。すごく分かりやすかったです!",
        "助かりました。とても丁寧でした。",
        "Hi there, how are you doing?",
        "That's all for now, thank you!",
    ],
)
def test_a_remark_on_the_exchange_is_chit_chat(message: str) -> None:
    u = U.understand(message)
    assert u.parts == [] and u.chitchat


@pytest.mark.parametrize(
    "message",
    [
        "京都の食品メーカーです。海外に輸出したい。",
        "うちは大阪の町工場で、DXを進めたいと考えています。",
        "神戸のロボットベンチャーです。海外展開を検討しています。",
        "We are a small robotics startup in Kobe and want to find partners.",
    ],
)
def test_a_business_and_its_goal_without_a_question_asks_for_support(message: str) -> None:
    u = U.understand(message)
    assert u.wants_support and [p.asks for p in u.parts] == [Asks.support]


def test_a_business_alone_is_not_yet_a_support_request() -> None:
    u = U.understand("京都の食品メーカーです。")
    assert not u.wants_support


@pytest.mark.parametrize(
    ("question", "head"),
    [
        ("スタートアップ支援にはどのような取組みがありますか？", "取組み"),
        ("スタートアップ支援にはどんな取組がある？", "取組"),
        ("スタートアップ関連で何の事業がありますか", "事業"),
        ("効率的にする、という考え方は何と呼ばれている？", "考え方"),
    ],
)
def test_a_noun_the_interrogative_determines_only_names_the_kind(question: str, head: str) -> None:
    (p,) = U.understand(question).parts
    assert p.head == head and p.kind


@pytest.mark.parametrize("question", ["構成府県市を全部教えて", "4つのバリューを一覧にして"])
def test_a_list_s_own_name_is_no_kind(question: str) -> None:
    (p,) = U.understand(question).parts
    assert p.head and not p.kind


@pytest.mark.parametrize(
    "question",
    [
        "令和5年度の事業と予算、それから申請の締切を教えて",
        "令和5年度の事業と予算、あと申請の締切を教えてください",
        "令和5年度の事業と予算、さらに申請の締切も知りたい",
        "令和5年度の事業と予算、また申請の締切を教えて",
    ],
)
def test_an_added_ask_after_a_comma_is_its_own_part(question: str) -> None:
    parts = U.understand(question).parts
    assert len(parts) == 2
    assert "deadline" in parts[1].needs and "deadline" not in parts[0].needs
    assert "申請" not in parts[0].subject


@pytest.mark.parametrize(
    "question",
    [
        "海外への販路開拓を検討しており、令和5年度の事業の予算を教えてください。",
        "輸出を考えているので、令和5年度の事業の予算を教えてください。",
        "町工場を経営していますが、令和5年度の事業の予算を教えてください。",
    ],
)
def test_the_askers_situation_before_the_question_is_not_searched(question: str) -> None:
    (p,) = U.understand(question).parts
    assert "事業" in p.subject
    assert not {"海外", "販路", "輸出", "町工場", "経営"} & set(p.subject)


def test_a_means_clause_stays_part_of_the_question() -> None:
    (p,) = U.understand("関西の強みを活かして、どんな取組みがありますか？").parts
    assert "強み" in p.subject


def test_a_document_title_quoted_in_the_answer_is_not_the_follow_ups_subject() -> None:
    u = Understander(get_tokenizer("sudachi"))
    u.titles = frozenset({"関西広域産業ビジョン(2023年改訂版)【素案】"})
    history = [
        Message("user", "関西パビリオンについて教えて"),
        Message(
            "assistant",
            "「関西広域産業ビジョン(2023年改訂版)【素案】」には、次の記載があります。\n"
            "関西広域連合「関西パビリオン」をゲートウェイとした発信・誘客[1]",
        ),
    ]
    (p,) = u.understand("その予算は？", history).parts
    assert p.inherited == "関西パビリオン"


@pytest.mark.parametrize(
    "question",
    [
        "御連合の令和5年度の事業の予算総額を教えてください。",
        "貴連合の令和5年度の事業の予算総額を教えてください。",
        "貴局の令和5年度の事業の予算総額を教えてください。",
    ],
)
def test_the_addressee_in_a_letter_is_not_the_topic(question: str) -> None:
    (p,) = U.understand(question).parts
    assert "事業" in p.subject and not {"連合", "局", "貴", "御"} & set(p.subject)


@pytest.mark.parametrize(
    ("question", "topic"),
    [("ご提案の内容を教えてください。", "提案"), ("御事業の予算を教えてください。", "事業")],
)
def test_a_polite_prefix_on_a_topic_keeps_the_topic(question: str, topic: str) -> None:
    (p,) = U.understand(question).parts
    assert topic in p.subject


@pytest.mark.parametrize(
    "question",
    [
        "役所の研修で「自治事務」という言葉が出てきました。地方自治法ではどう定義されていますか？",
        "資料に「自治事務」とありました。地方自治法だと何のことですか？",
    ],
)
def test_a_question_naming_only_its_law_takes_the_term_from_the_sentence_before(
    question: str,
) -> None:
    u = Understander(get_tokenizer("sudachi"))
    u.titles = frozenset({"地方自治法"})
    p = u.understand(question).parts[-1]
    assert p.asks is Asks.definition and p.term == "自治事務"


@pytest.mark.parametrize(
    ("question", "person"),
    [
        ("関西として打ち出したいブランドの名前を教えてください", False),
        ("この事業の名前は？", False),
        ("担当者のお名前を教えてください", True),
        ("局長は誰ですか", True),
        ("協議会を共同で組織できるのは誰ですか", False),
    ],
)
def test_a_name_is_a_person_s_only_when_a_person_is_asked_for(question: str, person: bool) -> None:
    needs = {n for p in U.understand(question).parts for n in p.needs}
    assert ("person" in needs) is person


@pytest.mark.parametrize(
    ("answer", "question", "item"),
    [
        (
            "関西広域連合は固有の4つのバリュー(存在価値)として、①スケールメリット(規模の経済、域内最適化)、"
            "②シナジー(協働、相乗、相互補完)、③スピルオーバー(波及、浸透)、④ダイバーシティ(多様性、地域特性)を発揮し、"
            "関西産業の成長に資する取組みを実施するとしています。",
            "2番目のやつ、もう少し詳しく説明してもらえる?",
            "シナジー(協働、相乗、相互補完)",
        ),
        (
            "4つのバリューは、スケールメリット(規模の経済、域内最適化)、シナジー、スピルオーバー、ダイバーシティです。",
            "最後のは？",
            "ダイバーシティ",
        ),
        (
            "・関西チャレンジ①\n・関西チャレンジ②\n・関西チャレンジ③",
            "What about the second one?",
            "関西チャレンジ②",
        ),
    ],
)
def test_an_ordinal_points_at_an_item_of_the_last_answer(
    answer: str, question: str, item: str
) -> None:
    """Items numbered inline (①…②…) or joined with 「、」 keep their brackets whole."""
    from assistant.answer.understand import _ordinal_item

    history = [Message("user", "前の質問"), Message("assistant", answer)]
    assert _ordinal_item(question, history) == item


@pytest.mark.parametrize(
    ("question", "only"),
    [
        ("大阪府だけの合計特殊出生率って載ってますか？", ["大阪府"]),
        ("関西だけで見るとその数字はどうなってる？", ["関西"]),
        ("京都のみの数字はありますか", ["京都"]),
        ("日本の合計特殊出生率は？", []),
        ("What is the birth rate for Osaka alone?", ["Osaka"]),
    ],
)
def test_a_place_the_question_limits_itself_to_is_kept(question: str, only: list[str]) -> None:
    u = U.understand(question)
    assert u.parts and u.parts[0].only == only, [(p.text, p.only) for p in u.parts]


@pytest.mark.parametrize(
    ("question", "location"),
    [
        ("人口が世界一になった国って、資料ではどこって書いてあります？", False),
        ("中小企業支援を担う機関はどこ？", False),
        ("関西パビリオンはどこに建ちますか", True),
        ("フォーラムの会場はどこですか", True),
    ],
)
def test_where_of_a_country_or_body_asks_which_one(question: str, location: bool) -> None:
    u = U.understand(question)
    assert ("location" in u.parts[0].needs) is location, (u.parts[0].needs, u.parts[0].phrase)


@pytest.mark.parametrize(
    ("question", "person"),
    [
        ("From whose point of view is the DX supposed to be done?", False),
        ("Who is the director of the bureau?", True),
    ],
)
def test_whose_point_of_view_asks_for_no_person(question: str, person: bool) -> None:
    u = U.understand(question)
    assert ("person" in u.parts[0].needs) is person, u.parts[0].needs


@pytest.mark.parametrize(
    ("question", "anaphoric"),
    [
        ("What does this vision say about hydrogen?", False),
        ("Is that law about SMEs?", False),
        ("What is its budget?", True),
        ("Who approves it?", True),
    ],
)
def test_this_vision_is_the_document_not_the_last_subject(question: str, anaphoric: bool) -> None:
    history = [
        Message("user", "Who designates the Osaka Bay coastal area?"),
        Message("assistant", "第四条 大阪湾臨海地域及び関連整備地域は、主務大臣が…指定する"),
    ]
    (p,) = U.understand(question, history).parts
    assert p.anaphoric is anaphoric


@pytest.mark.parametrize(
    "question",
    [
        "Under the 中小企業支援法, who draws up the annual plan for SME support projects?",
        "Does a regional council need anyone's consent before adopting a plan (外客来訪促進計画)?",
        "Is the 近畿圏 only 大阪府 and 兵庫県, or does it also include 福井県?",
    ],
)
def test_an_english_question_that_quotes_japanese_terms_is_english(question: str) -> None:
    u = U.understand(question)
    assert u.lang == "en"
    for p in u.parts:
        assert p.lang == "en"
        assert not p.names, "English words are not unknown Japanese names"


@pytest.mark.parametrize(
    "question",
    ["GXやDXの推進について、Society 5.0の実現に向けた取組は？", "SMEの支援策を教えて"],
)
def test_a_japanese_question_with_english_words_stays_japanese(question: str) -> None:
    assert U.understand(question).lang == "ja"


@pytest.mark.parametrize(
    "question",
    [
        "広域連合の長が、構成団体である府県の知事を兼ねるのは法律上問題ないですか？",
        "知事が決めるんですか？",
        "Does the selection of the company's representative director need government approval?",
        "When the minister appoints the director, must the cabinet approve it?",
    ],
)
def test_a_yes_no_question_that_names_a_role_does_not_ask_for_a_name(question: str) -> None:
    (p,) = U.understand(question).parts
    assert "person" not in p.needs
    assert p.asks is not Asks.who


@pytest.mark.parametrize(
    "question",
    [
        "局長は誰ですか",
        "担当者のお名前を教えてもらえますか",
        "担当者の名前は？",
        "Who is the director?",
    ],
)
def test_a_question_for_a_person_still_asks_for_one(question: str) -> None:
    (p,) = U.understand(question).parts
    assert "person" in p.needs or p.asks is Asks.who


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        (
            "When the minister sets the basic policy, must any other minister be consulted?",
            Asks.other,
        ),
        ("If we are an SME in Kyoto, what support can we use?", Asks.support),
        ("When was the Paris Agreement adopted?", Asks.date),
    ],
)
def test_a_clause_that_sets_the_scene_is_not_what_is_asked(question: str, asks: Asks) -> None:
    (p,) = U.understand(question).parts
    assert p.asks is asks


@pytest.mark.parametrize(
    ("message", "situation_word"),
    [
        (
            "隣の町と二つで一部事務組合を作ってごみ処理場を運営したいです。県は加入しません。"
            "誰の許可が必要ですか？",
            "一部事務組合",
        ),
        (
            "Our two towns want to set up a partial-affairs association (一部事務組合). "
            "No prefecture is a member. Whose permission do we need?",
            "一部事務組合",
        ),
    ],
)
def test_a_thin_question_is_searched_with_the_situation_before_it(
    message: str, situation_word: str
) -> None:
    u = U.understand(message)
    p = u.parts[-1]
    assert situation_word in p.query
    assert situation_word not in " ".join(p.subject), "the situation is searched, not judged"


@pytest.mark.parametrize(
    "question",
    [
        "国際会議を誘致すると、国際観光振興機構から交付金は最大いくらもらえますか？",
        "世界全体で見ると、都市部に住む人の割合はどのくらい？",
        "会社を設立したら、どんな支援が受けられますか？",
        "認定を受ければ、どんな特例がありますか？",
    ],
)
def test_a_condition_before_the_question_is_not_a_part_of_its_own(question: str) -> None:
    assert len(U.understand(question).parts) == 1


@pytest.mark.parametrize(
    ("question", "year"),
    [
        ("What target does the act set for 2030?", "2030"),
        ("How large was Kansai's GRP in 2020?", "2020"),
        ("What should be achieved by 2040?", "2040"),
    ],
)
def test_an_english_year_is_read_without_a_japanese_counter(question: str, year: str) -> None:
    (p,) = U.understand(question).parts
    assert year in p.years


@pytest.mark.parametrize(
    ("message", "term"),
    [
        (
            "関空の法律を読んでいたら「国際拠点空港」という言葉が出てきました。"
            "どういう空港のことを指しているのでしょうか。",
            "国際拠点空港",
        ),
        (
            "関西文化学術研究都市建設促進法の「文化学術研究交流施設」の定義を教えてください。",
            "文化学術研究交流施設",
        ),
        ("「小規模企業者」の定義は？", "小規模企業者"),
    ],
)
def test_a_definition_asks_about_the_word_the_message_quotes(message: str, term: str) -> None:
    p = next(p for p in U.understand(message).parts if p.asks is Asks.definition)
    assert p.term == term


@pytest.mark.parametrize(
    "question",
    [
        "議会の定例会って、地方自治法で年4回と決まっているんですよね？",
        "うちは小規模企業者に当たるのかな？",
        "知事が広域連合の長を兼ねてもいいんですよね",
        "Is the governor allowed to be the head of the union?",
    ],
)
def test_a_yes_no_question_ending_in_particles_is_polar(question: str) -> None:
    assert all(p.polar for p in U.understand(question).parts)


@pytest.mark.parametrize(
    "question",
    [
        "隣り合う二つの町で、一緒に国際会議観光都市の認定を申請することはできますか？",
        "3つの市で共同して協議会を作ってもいいですか",
    ],
)
def test_a_count_in_a_yes_no_question_asks_for_no_list(question: str) -> None:
    (part,) = U.understand(question).parts
    assert part.polar and part.asks is not Asks.list


def test_a_second_yes_no_question_with_no_topic_weighs_the_first() -> None:
    parts = U.understand(
        "二つの町で一緒に国際会議観光都市の認定を申請できますか？一つの市町村ごとでないとだめでしょうか。"
    ).parts
    assert "観光都市" in parts[-1].subject
    # one with a topic of its own is a question of its own
    parts = U.understand("うちは中小企業に当たりますか？それと、補助金はもらえますか？").parts
    assert not any("補助金" in p.subject and "中小企業" in p.subject for p in parts)


@pytest.mark.parametrize(
    ("question", "holds"),
    [
        ("国際会議観光都市の認定申請書には何を書けばいいですか？", "認定申請書"),
        ("情報提供機関として認定を受けたい。申請書に何を書く？", "申請書"),
        ("整備計画には何を定めるのですか", "整備計画"),
    ],
)
def test_what_goes_in_a_document_asks_for_its_items(question: str, holds: str) -> None:
    part = U.understand(question).parts[-1]
    assert part.holds == holds and part.asks is Asks.list


@pytest.mark.parametrize(
    "question",
    [
        "作ったらどこに出すのかも教えてください",
        "申請書はどこに提出すればいいですか",
        "変更があったらどこへ届け出るの？",
    ],
)
def test_where_something_is_handed_asks_to_whom(question: str) -> None:
    part = U.understand(question).parts[-1]
    assert part.addressee and part.asks is Asks.who and "location" not in part.needs
    # a place is still a place
    place = U.understand("セミナーはどこで開かれますか").parts[0]
    assert not place.addressee and "location" in place.needs


def test_a_noun_the_sentence_before_names_in_full_is_that_one() -> None:
    u = U.understand(
        "外国人観光旅客利便増進実施計画を作ることになりました。計画に書かないといけない事項は何ですか？"
    )
    assert "実施計画" in u.parts[-1].inherited


def test_a_distributive_suffix_is_no_subject() -> None:
    part = U.understand("「中小企業者」の範囲を、号ごとにすべて教えてください").parts[0]
    assert "毎" not in part.subject and "ごと" not in part.subject


@pytest.mark.parametrize(
    "message",
    [
        "奈良で靴下を作っている従業員15名のメーカーです。自社ブランドを立ち上げて、海外にも出ていきたい。",
        "大阪の金属加工会社です。新分野に参入したいのですが、進め方がわからず困っています。知名度も上げたいです。",
    ],
)
def test_a_business_describing_itself_without_a_question_is_understood(message: str) -> None:
    # its parts come from the whole description, after every sentence of it
    u = U.understand(message)
    assert u.parts and all(p.sentence == len(u.sentences) for p in u.parts)


def test_every_question_of_the_eval_sets_is_understood() -> None:
    """Every wording the eval sets hold, with its history: understanding never fails, and each
    message gets parts to answer or a chit-chat reply."""
    import json

    from tests.conftest import PROJECT

    for path in ("eval/cases.jsonl", "eval/statutes/cases.jsonl"):
        for line in (PROJECT / path).read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            history = [Message(h["role"], h["content"]) for h in case.get("history", [])]
            u = U.understand(case["question"], history, Mode(case.get("mode", "chat")))
            assert u.parts or u.chitchat or u.sentences, case["id"]


@pytest.mark.parametrize(
    "message",
    [
        "Thank you so much, this was really useful.",
        "Thanks, the GRP target was what I was looking for. Goodbye!",
        "Bye for now, thanks for your help with the export programmes.",
        "Thanks, that is exactly what we needed.",
    ],
)
def test_an_english_thanks_or_goodbye_that_asks_nothing_is_chitchat(message: str) -> None:
    u = U.understand(message)
    assert not u.parts and u.chitchat in ("thanks", "bye")


@pytest.mark.parametrize(
    "message",
    [
        "Thanks for the answer about the pavilion; what is its budget",
        "Thanks, and which programmes support startups",
        "Thank you, and I would also like to know the 2040 GRP target.",
        "Thanks. Could you also tell me the budget?",
    ],
)
def test_thanks_with_a_question_in_it_is_still_a_question(message: str) -> None:
    assert U.understand(message).parts


@pytest.mark.parametrize(
    ("question", "asked", "about"),
    [
        ("それから補助金の申請締切を教えてください。", "deadline", "補助金"),
        ("補助金の問い合わせ先を教えて", "contact", "補助金"),
        ("お世話になります。「補助金」の、申請締切はいつですか", "deadline", "補助金"),
        ("助成金の窓口はどこにありますか？", "contact", "助成金"),
        ("補助金の受付期間を知りたいです", "deadline", "補助金"),
    ],
)
def test_a_need_that_only_names_what_another_need_is_asked_of_is_its_subject(
    question: str, asked: str, about: str
) -> None:
    p = U.understand(question).parts[-1]
    assert asked in p.needs and not {"subsidy_rate", "fee"} & set(p.needs)
    assert about in p.subject


@pytest.mark.parametrize(
    ("question", "needs"),
    [
        ("補助金はもらえますか", {"subsidy_rate"}),
        ("補助率と締切を教えて", {"subsidy_rate", "deadline"}),
        ("補助金の上限額はいくら？", {"subsidy_rate"}),
        ("補助金の件と、申請の締切を教えて", {"subsidy_rate", "deadline"}),
    ],
)
def test_needs_asked_side_by_side_are_all_kept(question: str, needs: set[str]) -> None:
    got = {n for p in U.understand(question).parts for n in p.needs}
    assert got == needs


@pytest.mark.parametrize(
    "question",
    [
        "県の経営支援課に配属されたばかりです。県が行う中小企業支援事業の実施計画は、誰が作ることになっているのでしょうか。",
        "弊社は中小企業です。経営支援の事業を指定するのは誰ですか？",
        "当社は認定支援機関です。支援事業の計画はどなたが定めるのでしょう",
    ],
)
def test_who_does_it_is_not_a_support_request(question: str) -> None:
    u = U.understand(question)
    assert not u.wants_support and u.parts[-1].asks is Asks.who


@pytest.mark.parametrize(
    "question",
    [
        "京都の食品メーカーです。海外に輸出したいのですが、使える支援は？",
        "当社は大阪のスタートアップです。受けられる支援を教えてください",
        "うちは奈良の旅館です。インバウンド向けに使える事業はありますか",
    ],
)
def test_a_business_asking_what_fits_is_still_a_support_request(question: str) -> None:
    assert U.understand(question).wants_support


@pytest.mark.parametrize(
    ("message", "second"),
    [
        ("関西チャレンジを3つ教えて。あと、それぞれの取組アイデアを一つずつ。", "取組アイデア"),
        ("4つのバリューは？また、2つの将来像についても。", "将来像"),
        ("GRPの目標はいくら？ついでに日本経済に占める割合も。", "割合"),
        ("数値目標を教えて。加えて、担当部署の連絡先も。", "連絡先"),
    ],
)
def test_a_request_cut_short_after_a_question_is_a_part_of_its_own(
    message: str, second: str
) -> None:
    parts = U.understand(message).parts
    assert len(parts) == 2 and second in parts[1].text


@pytest.mark.parametrize(
    "message",
    [
        "数値目標は？なお、急ぎではありません。",
        "数値目標は？また、弊社は大阪の製造業です。",
        "数値目標は？あと、よろしく。",
        "数値目標を教えて。株式会社ナニワ精機 田中",
    ],
)
def test_a_remark_after_a_question_is_no_second_question(message: str) -> None:
    assert len(U.understand(message).parts) == 1


@pytest.mark.parametrize(
    "message",
    [
        "了解です。では予算は？",
        "OK, what is the GRP target?",
        "I see. And the budget for startups?",
        "Understood. Which programmes support hydrogen?",
        "承知しました。続けて、申請の締切を教えてください。",
    ],
)
def test_an_acknowledgement_before_a_question_is_still_a_question(message: str) -> None:
    u = U.understand(message)
    assert u.parts and u.chitchat is None


def test_a_topic_frame_is_what_every_part_of_the_sentence_is_about() -> None:
    parts = U.understand(
        "スタートアップ支援について、ビジョンで掲げているブランドと、令和5年度の予算額を教えてください。"
    ).parts
    assert len(parts) == 2
    assert "ブランド" in parts[0].subject and "スタートアップ" in parts[0].subject
    assert parts[1].asks is Asks.amount and "スタートアップ" in parts[1].subject


@pytest.mark.parametrize(
    ("question", "topic", "n"),
    [
        (
            "水素に関しては、ビジョンでの位置づけと、令和5年度の関連予算を教えてください。",
            "水素",
            2,
        ),
        ("補助金につきまして、申請の締切を教えてください。", "補助金", 1),
        ("万博については、関西パビリオンの位置づけを教えて", "万博", 1),
    ],
)
def test_each_wording_of_a_topic_frame_reaches_the_parts(question: str, topic: str, n: int) -> None:
    parts = U.understand(question).parts
    assert len(parts) == n and all(topic in p.subject for p in parts)


@pytest.mark.parametrize(
    "question",
    [
        "関西パビリオンの概要と、予算も教えて",  # the budget of the pavilion itself
        "関西パビリオンについて教えて",
    ],
)
def test_without_a_frame_a_figure_asked_after_a_subject_is_that_subjects(question: str) -> None:
    assert len(U.understand(question).parts) == 1


@pytest.mark.parametrize(
    ("message", "phrases"),
    [
        (
            "関西チャレンジを3つ教えて。あと、それぞれの取組アイデアを一つずつ。",
            ["関西チャレンジ", "取組アイデア"],
        ),
        ("取組アイデアを2つ挙げて", ["取組アイデア"]),
        ("4つのバリューは？", ["4つのバリュー"]),
    ],
)
def test_a_part_is_named_by_what_it_asks_about_not_by_how_many(
    message: str, phrases: list[str]
) -> None:
    assert [p.phrase for p in U.understand(message).parts] == phrases
