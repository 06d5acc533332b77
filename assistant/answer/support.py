"""Support finder: which initiatives and programmes of the vision fit a business.

One generator among the others: the understanding step decides that a message asks what fits
the asker's business (in any wording); :func:`support_parts` answers it with typed parts.
The catalogue (``corpus/support-catalogue.json``) is data derived from the corpus; each entry
carries the exact ``quote`` it comes from, so every suggestion cites its source passage.
Ranking is deterministic: vocabulary matches (industry, goal, size, English keywords),
Sudachi term overlap and embedding similarity between the description and the entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.answer.types import AnswerPart, PartKind
from assistant.embedding.base import Embedder
from assistant.retrieval.searcher import Passage
from assistant.text.tokenizer import Tokenizer

if TYPE_CHECKING:
    from collections.abc import Iterable

    from assistant.answer.present import Presenter

SYNONYMS: dict[str, tuple[str, ...]] = {
    "食品": ("食品", "食料", "飲料", "菓子", "酒", "food", "beverage"),
    "農林水産業": ("農業", "農家", "農園", "漁業", "林業", "水産", "農林", "farm", "agri", "fish"),
    "製造業": ("製造", "メーカー", "工場", "ものづくり", "部品", "加工", "manufactur", "factory"),
    "医療機器": ("医療機器", "医療", "medtech", "medical device"),
    "ライフサイエンス": (
        "ライフサイエンス",
        "創薬",
        "製薬",
        "バイオ",
        "life science",
        "biotech",
        "pharma",
    ),
    "ヘルスケア": ("ヘルスケア", "健康", "介護", "healthcare", "health"),
    "蓄電池": ("蓄電池", "電池", "battery"),
    "水素": ("水素", "hydrogen"),
    "エネルギー": ("エネルギー", "再エネ", "太陽光", "energy", "solar"),
    "交通": ("交通", "MaaS", "バス", "鉄道", "transport", "mobility"),
    "モビリティ": ("モビリティ", "自動運転", "mobility", "autonomous"),
    "航空": ("空飛ぶクルマ", "ドローン", "航空", "eVTOL", "drone", "air mobility", "flying car"),
    "宇宙": ("宇宙", "衛星", "ロケット", "space", "satellite"),
    "観光": ("観光", "旅館", "ホテル", "インバウンド", "tourism", "hotel", "inbound"),
    "伝統工芸": ("伝統工芸", "伝統産業", "工芸", "西陣", "清水焼", "craft", "traditional"),
    "地場産業": ("地場産業", "地場", "特産", "local industr"),
    "IT": ("IT", "ソフトウェア", "アプリ", "AI", "デジタル", "software", "digital"),
    "スタートアップ": (
        "スタートアップ",
        "ベンチャー",
        "起業",
        "創業",
        "startup",
        "start-up",
        "venture",
    ),
    "海外展開": ("海外", "輸出", "グローバル", "世界", "export", "overseas", "global", "abroad"),
    "輸出": ("輸出", "export"),
    "販路開拓": ("販路", "顧客", "市場", "売上", "sales", "market", "customer"),
    "新商品開発": ("新商品", "新製品", "開発", "new product", "develop"),
    "DX": ("DX", "デジタル", "IT化", "自動化", "省人化", "digital", "automation"),
    "生産性向上": ("生産性", "効率", "省力", "productivity", "efficien"),
    "人材確保": ("人材確保", "採用", "人手不足", "求人", "hiring", "recruit", "staff shortage"),
    "人材育成": ("人材育成", "育成", "研修", "リスキリング", "教育", "training", "reskill"),
    "資金調達": ("資金", "投資", "出資", "funding", "investment", "investor"),
    "連携・協業": ("連携", "協業", "提携", "パートナー", "共同", "partner", "collaborat"),
    "実証": ("実証", "実験", "テスト", "pilot", "testbed", "demonstration"),
    "発信・PR": ("発信", "PR", "広報", "ブランド", "認知", "promot", "brand", "marketing"),
    "脱炭素": ("脱炭素", "カーボンニュートラル", "CO2", "温室効果", "GX", "decarboni", "carbon"),
    "プラスチック削減": ("プラスチック", "プラごみ", "plastic"),
    "起業": ("起業", "創業", "founder", "start a business"),
    "事業承継": ("事業承継", "後継", "第二創業", "succession"),
    "働き方改革": ("働き方", "副業", "兼業", "テレワーク", "remote work", "work style"),
    "中小企業": ("中小", "小規模", "従業員", "SME", "small business"),
    "大企業": ("大企業", "大手", "large company", "corporation"),
    "大学・研究機関": ("大学", "研究機関", "研究所", "university", "research"),
}


@dataclass
class Match:
    entry: dict[str, Any]
    score: float
    reasons: list[str] = field(default_factory=list)


class SupportFinder:
    def __init__(self, path: Path, tokenizer: Tokenizer, embedder: Embedder) -> None:
        self.path = path
        self.tokenizer = tokenizer
        self.embedder = embedder
        self._entries: list[dict[str, Any]] | None = None
        self._vectors: np.ndarray | None = None
        self._terms: list[set[str]] = []

    def entries(self) -> list[dict[str, Any]]:
        if self._entries is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {"entries": []}
            self._entries = list(data.get("entries", []))
            texts = [self._text(e) for e in self._entries]
            self._terms = [set(self.tokenizer.tokenize(t)) for t in texts]
            self._vectors = self.embedder.embed_passages(texts) if texts else None
        return self._entries

    @staticmethod
    def _text(e: dict[str, Any]) -> str:
        return " ".join(
            [
                str(e.get("name", "")),
                str(e.get("why_ja", "")),
                str(e.get("quote", "")),
                str(e.get("section", "")),
                *list(e.get("industries", [])),
                *list(e.get("goals", [])),
                *list(e.get("keywords_en", [])),
            ]
        )

    def find(self, description: str, k: int = 5) -> list[Match]:
        entries = self.entries()
        if not entries:
            return []
        desc = description.lower()
        d_terms = set(self.tokenizer.tokenize(description))
        q = self.embedder.embed_query(description)
        sims = self._vectors @ q if self._vectors is not None else np.zeros(len(entries))
        lo, hi = float(sims.min()), float(sims.max())
        span = (hi - lo) or 1.0
        matches = []
        for e, terms, sim in zip(entries, self._terms, sims, strict=True):
            reasons = []
            for field_name in ("industries", "goals", "sizes"):
                for term in e.get(field_name, []):
                    if term in ("全業種", "全規模"):
                        continue
                    keys = SYNONYMS.get(term, (term,))
                    if any(_contains(desc, key) for key in keys):
                        reasons.append(term)
            for kw in e.get("keywords_en", []):
                if _contains(desc, kw) and kw not in reasons:
                    reasons.append(kw)
            overlap = len(d_terms & terms) / (len(d_terms) or 1)
            score = 1.0 * len(reasons) + 1.5 * overlap + 1.0 * (float(sim) - lo) / span
            matches.append(Match(e, score, reasons))
        matches.sort(key=lambda m: (-m.score, m.entry.get("id", "")))
        best = [m for m in matches if m.reasons][:k]
        return best or matches[: min(k, 3)]


def _contains(text: str, key: str) -> bool:
    key = key.lower()
    if key.isascii() and len(key) <= 3:
        return re.search(rf"(?<![a-z]){re.escape(key)}(?![a-z])", text) is not None
    return key in text


def support_parts(
    finder: SupportFinder,
    description: str,
    records: Iterable[dict[str, Any]],
    p: Presenter,
    k: int = 5,
) -> tuple[list[tuple[AnswerPart, str]], list[Passage]]:
    """The support answer as typed parts (with the quote each claim relies on) and its passages.

    Each suggestion quotes its catalogue entry's source line (a claim), then says why it fits
    and what to do next (framing): the documents name no contact or procedure, so the next step
    says where the programme is described and what to ask for."""
    matches = finder.find(description, k=k)
    recs = list(records)
    sources: list[Passage] = []
    out: list[tuple[AnswerPart, str]] = [(AnswerPart(PartKind.framing, p.support_lead()), "")]
    for m in matches:
        quote = str(m.entry.get("quote", ""))
        rec = next((r for r in recs if quote and quote in r["text"]), None)
        if rec is None:
            continue
        passage = next((s for s in sources if s.id == rec["id"]), None)
        if passage is None:
            passage = Passage.from_record(rec, round(m.score, 4))
            sources.append(passage)
        n = sources.index(passage) + 1
        kind = str(m.entry.get("kind", ""))
        why = str(m.entry.get("why_ja", "")) if p.lang == "ja" else ""
        why = why.split("。")[0] if why else ""
        where = str(m.entry.get("section", "")).split(" > ")[-1] or str(m.entry.get("name", ""))
        out.append(
            (
                AnswerPart(
                    PartKind.claim,
                    quote.lstrip("◇・- "),
                    [n],
                    spans=[quote.lstrip("◇・- ")],
                    bullet=True,
                    newline=False,
                ),
                quote,
            )
        )
        out.append((AnswerPart(PartKind.framing, p.support_annotation(kind, why, m.reasons)), ""))
        out.append((AnswerPart(PartKind.framing, "　" + p.support_next_step(kind, where)), ""))
    out.append((AnswerPart(PartKind.framing, ""), ""))
    out.append((AnswerPart(PartKind.framing, p.support_note()), ""))
    return out, sources
