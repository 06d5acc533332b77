"""Two questions per kind of question, with what a correct answer must (and must not) say.

Written for these tests from the document (not taken from the eval set); the same table is
run through the engine, the CLI, the HTTP API and the web page's handlers, so every adapter
answers them alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Example:
    kind: str
    question: str
    history: tuple[tuple[str, str], ...] = ()
    mode: str = "chat"
    grounded: bool = True
    contains: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()  # part kinds the answer must have
    cited: bool = True  # False: no citations at all (chit-chat, not covered)
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.question[:18]}"

    def history_json(self) -> list[dict[str, str]]:
        return [{"role": r, "content": c} for r, c in self.history]


VALUES = ("スケールメリット", "シナジー", "スピルオーバー", "ダイバーシティ")

EXAMPLES: tuple[Example, ...] = (
    Example("list", "関西広域連合の4つのバリューは？", contains=VALUES, parts=("direct",)),
    Example(
        "list",
        "令和5年度事業を一覧で教えてください",
        contains=("13,043千円", "各種セミナーの開催", "広報活動の実施"),
    ),
    Example("definition", "シナジーとはどういう意味ですか", contains=("単独実施以上の効果",)),
    Example("definition", "VUCAって何？", contains=("先行きが不透明",)),
    Example(
        "self_intro",
        "株式会社山田製作所の佐藤です。GRPの目標額を教えてください。",
        contains=("約150兆円",),
        absent=("佐藤", "山田"),
    ),
    Example(
        "self_intro",
        "大阪で部品商社をしている鈴木と申します。国内シェアは何％をめざしていますか？",
        contains=("25%",),
        absent=("鈴木",),
    ),
    Example(
        "draft_self_intro",
        "いつもお世話になっております。株式会社タナカ精機の田中です。"
        "GRPの目標額についてご教示ください。\nよろしくお願いいたします。",
        mode="draft",
        contains=("田中様", "約150兆円", "【出典】", "担当:"),
    ),
    Example(
        "draft_self_intro",
        "関西広域連合 御中\n突然のご連絡失礼いたします。合同会社みなと食品の森です。"
        "関西プラスチックごみゼロ推進事業の予算額を教えていただけますか。",
        mode="draft",
        contains=("森様", "500千円", "【出典】"),
    ),
    Example(
        "multi_part",
        "関西スタートアップのポテンシャルの発信強化の事業と予算、それから申請の締切を教えて",
        contains=("13,043千円", "締切"),
        parts=("not_covered",),
    ),
    Example(
        "multi_part",
        "数値目標を教えてください。それから担当部署の電話番号もお願いします。",
        contains=("25%", "連絡先"),
        parts=("not_covered",),
    ),
    Example(
        "current_value",
        "関西の今のGRPはいくら？",
        grounded=False,
        absent=("約150兆円",),
        parts=("not_covered",),
        cited=False,
    ),
    Example(
        "current_value",
        "What is Kansai's actual GRP right now?",
        grounded=False,
        absent=("約150兆円",),
        cited=False,
    ),
    Example("target", "2040年度の国内シェアの目標は何％？", contains=("25%",)),
    Example(
        "followup_uncovered",
        "その予算は？",
        history=(
            ("user", "関西パビリオンについて教えて"),
            ("assistant", "「関西パビリオン」をゲートウェイとした発信・誘客が挙げられています。"),
        ),
        grounded=False,
        absent=("22,634千円", "13,043千円", "55,969千円"),
        cited=False,
    ),
    Example(
        "followup_uncovered",
        "それにはいくら予算がついていますか？",
        history=(
            ("user", "空飛ぶクルマについてどんなチャレンジがありますか"),
            ("assistant", "万博での商用運航実現へのチャレンジなどが挙げられています。"),
        ),
        grounded=False,
        absent=("千円",),
        cited=False,
    ),
    Example("chitchat", "こんにちは！", parts=("chitchat",), cited=False),
    Example("chitchat", "ありがとうございました。", parts=("chitchat",), cited=False),
    Example(
        "english_list",
        "What are the four values of the Union of Kansai Governments?",
        contains=VALUES,
    ),
    Example(
        "english_list",
        "Which programmes are in the Union's FY2023 budget? List them all.",
        contains=("13,043", "各種セミナーの開催"),
    ),
)
