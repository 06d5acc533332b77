"""Evidence for one question part, chosen from the retrieved passages and the documents' outline.

- a *list* question gets the items under the best-matching heading, lead-in or table cell
  (「4つのバリュー」 → its four ● items), or the parts of an enumeration written in one line;
- a *definition* gets the term's own line (and the explanation right under it);
- an *amount* gets the lines that hold a figure and are about the subject — the line itself or
  its headings must name the subject, so another programme's budget never answers;
- anything else gets the passages' most relevant lines.
Contents pages are never evidence.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from assistant.answer.defined import DefinedTerms
from assistant.answer.outline import Outline
from assistant.answer.sanctions import DUTY, PENALTY, Sanction, Sanctions
from assistant.answer.text import (
    detect_lang,
    japanese_runs,
    looks_like_instruction,
    nfkc,
    of_article,
    split_sentences,
    strip_bullet,
)
from assistant.answer.understand import Asks, Part, When
from assistant.embedding.base import Embedder
from assistant.retrieval.searcher import Passage
from assistant.text.bilingual import default_glossary
from assistant.text.numerals import normalize_numbers
from assistant.text.tokenizer import Tokenizer
from ingest.structure import Node, NodeKind

# a share as people write it (「10人に7人が都市部に居住」, 「3社に1社」): a proportion
_PROPORTION_RE = r"\d+\s*(?:人|社|件)に\s*\d+\s*(?:人|社|件)"
_QUANTITY = re.compile(
    _PROPORTION_RE + "|" +
    # (no space between a number and its unit: 「三 円滑かつ…」「十 万博の…」 are an item's label)
    r"\d[\d,.]*(?:千|万|億|兆)?(?:円|ドル|米ドル|%|％|パーセント|人|名|社|件|位|機関|か国|カ国|倍|年連続|割|校|団体)|"
    r"約?\d[\d,.]*(?:千|万|億|兆)(?:円|人|ドル)?|"
    # a counted period with its bound (「公表の日から三十日以内」): 「どれくらいの期間内なら」
    r"\d+\s*(?:日|箇月|か月|ヶ月|カ月|週間|年|月)\s*(?:以内|以上|以下|を超え|未満|を経過)|"
    # a span of time (「公告の日から一月間」, 「三年間」) and a share (「二分の一以上」)
    r"\d+\s*(?:日|箇月|か月|ヶ月|カ月|週|年|月)\s*間|\d+\s*分の\s*\d+|"
    # 「最初の年度以降三箇年度」: a number of years counted with 箇 is a duration
    r"\d+\s*(?:箇|か|カ|ヶ)\s*(?:年度|年|月)"
)
_PAST_YEAR = re.compile(r"(?<!\d)(19\d{2}|20[01]\d|202[0-3])(?!\d)")
_PAST_WORDS = re.compile(r"前回|以前|旧|改訂前|従来")
# a year, a month, or the milestone the vision dates its plans by (万博開催時)
# a period counted from an event (「告知を受けた日から三十日以内」) answers 「いつまでに」
# (a statute writes months as 「三月以内」 and a deadline as 「年度開始前二十日までに」)
_PERIOD = r"\d+\s*(?:日|箇月|か月|ヶ月|カ月|週間|月)\s*(?:以内|前|後|を経過|以上|まで|間)"
# a statute's time is often a word: 「速やかに…作成しなければならない」, 「あらかじめ」
_STATUTE_TIME = r"速やかに|遅滞なく|直ちに|あらかじめ|毎(?:会計)?年度?|年度開始前"
_WHEN = re.compile(
    r"(?:19|20)\d{2}|令和\s*\d+|平成\s*\d+|\d+年|\d+月|万博|開催時|" + _STATUTE_TIME + "|" + _PERIOD
)
# 「どのくらいの頻度で」 "how often": 「毎年」 answers it, a number need not
_ASKS_FREQUENCY = re.compile(r"頻度|何回|how often", re.I)
_FREQUENCY = re.compile(r"毎(?:会計)?年度?|毎月|毎週|\d+\s*年ごと|年\s*\d+\s*回|定期的")
_PERIOD_RE = re.compile(_PERIOD)
# 「何日以内？」「何か月前までに？」 asks a period, which no year answers
_ASKS_PERIOD = re.compile(r"何\s*(?:日|か月|ヶ月|カ月|箇月|週間)")
_CHANGE_WORDS = re.compile(r"前回|引き続き|改訂|修正|変更|見直")
# a provision that hands something to an authority (「…これを観光庁長官に提出しなければならない」):
# where 「どこに出す？」 is answered
_AUTHORITY = r"(?:大臣|長官|知事|市町村長|の長|機構|委員会)"
_HANDED_TO = re.compile(_AUTHORITY + r"に(?:提出|届け出|届出|申請|報告|通知|申し出)")
# a provision whose subject is an authority (「経済産業大臣は、…認定することができる」「主務大臣が、
# 府県知事の申請に基づき…指定する」): who acts, for a question asking who
_AUTHORITY_ACTS = re.compile(
    r"^(?:第\S+条\S*\s+|\d+\s+)?[^、。]{0,30}?(?:" + _AUTHORITY + r"|政府|国)(?:は|が)、"
)
_ARITHMETIC = re.compile(r"\d\s*[×xX*÷/+＋=＝≒]\s*|[×÷=＝≒]\s*\d")
_YEAR_EXPR = re.compile(r"(?:19|20)\d{2}|令和\s*\d+|平成\s*\d+|\d+年")
_TARGET_WORDS = re.compile(r"目標|めざす|目指す|見込|推計|予測|見通し|とする[。]?$|をめざ")
_ACTUAL_WORDS = re.compile(r"現在|実績|時点|現状|に到達|を記録|連続で|連続低下|減少傾向")
_PAREN_TAIL = re.compile(r"^(.{2,40}?)\s*[(（][^()（）]{1,40}[)）]\s*$")
_FIGURE_ITEM = re.compile(
    r"^(.{4,80}?)\s*[(（]\s*(約?\d[\d,.]*\s*(?:千|万|億|兆)?\s*円)\s*[)）]\s*$"
)
# 「令和5年度事業《予算額:55,969千円》」: a heading that gives its list's total
_FIGURE_HEADING = re.compile(
    r"^(.{4,80}?)\s*[《〈<(（]\s*(予算額|総額|事業費)\s*[:：]\s*(約?\d[\d,.]*\s*(?:千|万|億|兆)?\s*円)\s*[》〉>)）]\s*$"
)
_FISCAL_YEAR = re.compile(r"令和\s*(?:\d+|元)\s*年度|\d{4}\s*年度")
_TIME_TERM = re.compile(r"\d+|年|年度|月|令和|平成|fy\d*|[一二三四五六七八九十]+")
_PROPORTION = re.compile(_PROPORTION_RE)


# 「議員定数は何人？」: a count of people, firms or times, which no list of things answers
_HEAD_COUNT = re.compile(r"何\s*(?:人|名|社|件|回|歳|日|か月|ヶ月|カ月)")
# the words of 「第二百九十一条の二には何が」 besides the number: no subject of its own
_ARTICLE_WORDS = frozenset(
    ["第", "条", "項", "号", "の", "規定", "条文", "内容", "中身", "書く", "定める"]
)


def _a_word(form: str) -> bool:
    """A content word to look for in a provision (認定, not する or ある)."""
    return len(form) >= 2 and not re.fullmatch(r"[ぁ-ん]+", form)


def _done(act: str, text: str) -> bool:
    """The text does the act (「認定することができる」「指定し、」「承認を得て」 is not)."""
    return bool(re.search(re.escape(act) + r"(?:する|し[、てた]|される|されて|を行う)", text))


def _written(word: str, text: str) -> str:
    """The longest tail of ``word`` the text writes (「認定申請書」 → 申請書), or ""."""
    while len(word) > 2 and word not in text:
        word = word[1:]
    return word if word in text else ""


def _of_unit(quantity: str, hint: str) -> bool:
    """Whether a quantity is in the unit asked for; 「10人に7人」 is a share (%) as well."""
    if hint == "%" and _PROPORTION.fullmatch(quantity):
        return True
    return hint in quantity.replace("パーセント", "%")


_UNIT_HINT = {
    "予算": "円",
    "予算額": "円",
    "金額": "円",
    "費用": "円",
    "額": "円",
    "幾ら": "円",
    "率": "%",
    "割合": "%",
    "シェア": "%",
    "%": "%",
    "パーセント": "%",
    "位": "位",
    "人口": "人",
    "何人": "人",
    "何年度": "年度",
    "何箇年": "年",
    "人数": "人",
    "入場者数": "人",
    "来場者数": "人",
    "参加者数": "人",
    "何社": "社",
    "社数": "社",
    "企業数": "社",
    "部数": "部",
    "何件": "件",
    "件数": "件",
    "何校": "校",
    "visitors": "人",
    "people": "人",
    "companies": "社",
    "いくら": "円",
    "budget": "円",
    "share": "%",
    "percent": "%",
    "percentage": "%",
    "rank": "位",
    "ranking": "位",
}
_TOTAL_WORDS = frozenset(["総額", "合計", "総予算", "全体", "合計額"])
MIN_LIST_SCORE = 0.45
STRICT_LIST = 1.05  # a question that does not ask for a list still gets one if it names it
MIN_FIGURE_LINK = 0.3
LOW_IDF = 0.35  # terms in most chunks (関西, 取組) say little about a subject
EMB_WINDOW = 0.06
# e5 cosine above which a line says what the question asks in other words (measured on the
# dev cases: 出生率 for 「一人の女性が産む子どもの数」 0.865, 高齢化率 for 「お年寄りの割合」
# 0.902; unrelated figures 0.81–0.83)
SAME_MEANING = 0.855


class Shape(StrEnum):
    list = "list"
    definition = "definition"
    figure = "figure"
    lines = "lines"
    none = "none"


# a penalty's duty must carry a third of the question's weight; its chunk among the retrieved
# passages adds a little (「秘密を漏らした場合の罰則」 → 第12条第3項 and 第20条)
MIN_SANCTION = 0.34
MIN_DUTY = 0.25
SANCTION_RETRIEVED = 0.15
NAMED_LIST = 0.5  # a list whose label carries half the question's weight is the one it names
NAMED_GROUP = 0.2  # a group the question names: its label carries a fifth of the weight


@dataclass
class Line:
    passage: int  # 1-based index into Evidence.passages
    text: str  # as shown: bullet marks stripped
    node: Node | None = None
    score: float = 0.0
    name: str = ""  # a short name for a list item (「スケールメリット」)

    @property
    def key(self) -> str:
        return nfkc(self.text).replace(" ", "")


@dataclass
class Evidence:
    part: Part
    passages: list[Passage]
    shape: Shape = Shape.none
    lines: list[Line] = field(default_factory=list)  # what to quote, in answer order
    anchor: Line | None = None  # the lead/heading of a list, the term's line, …
    label: str = ""  # the subject span copied from the anchor (「4つのバリュー」)
    figure: str = ""  # the figure span of an amount (「13,043千円」)
    figure_name: str = ""  # what the figure is of, copied (「関西スタートアップの…発信強化」)
    figure_kind: str = ""  # copied from the heading (「予算額」)
    relatedness: float = 0.0  # how much of the subject the best evidence names (0..1)
    actual: bool = False  # a dated, actual figure (not a target) is among the lines
    targets: list[Line] = field(default_factory=list)  # figures left out: targets, not actuals
    ranked: str = ""  # "max" | "min": the lines are ordered by their figure
    unit_hint: str = ""  # the unit the question's cue asks for (円, %, 位)
    items: list[Line] = field(default_factory=list)  # a definition's items (a lead's 号)

    @property
    def found(self) -> bool:
        return self.shape is not Shape.none and bool(self.lines)


class EvidenceFinder:
    def __init__(self, tokenizer: Tokenizer, embedder: Embedder, max_lines: int = 4) -> None:
        self.tok = tokenizer
        self.embedder = embedder
        self.max_lines = max_lines
        self.records: Callable[[], dict[str, dict[str, Any]]] = dict
        self.cue_words: frozenset[str] = frozenset()  # English cue lemmas (set by the engine)
        # what meets a need (「手続き」: 許可・届出・申請 …), per need rule (set by the engine)
        self.need_evidence: dict[str, re.Pattern[str]] = {}
        # the words that ask for a penalty (the penalty need's cues, set by the engine) and 違反:
        # every penalty clause has them, so they never tell one duty from another
        self.penalty_words: frozenset[str] = frozenset({"違反"})
        self._terms: dict[str, frozenset[str]] = {}
        self._spelled: dict[str, str] = {}
        self._squashed: dict[str, str] = {}  # chunk id → its section and text, squashed
        self._vecs: dict[str, np.ndarray] = {}
        self._sanctions: Sanctions | None = None
        self._defined: DefinedTerms | None = None

    # ---- shared ---------------------------------------------------------------------------
    def _article_itself(self, ev: Evidence, outline: Outline, w: dict[str, float]) -> bool:
        """「地方自治法第291条の2には何が書いてありますか」: nothing asked but the article, so its
        paragraphs, in order, are the answer."""
        if any(t not in _ARTICLE_WORDS for t in w):
            return False
        lines = [
            Line(pi, strip_bullet(sent), node)
            for _rank, node, pi in self._nodes(ev, outline, with_text=True)
            if self._cited(ev, pi) and node.kind in (NodeKind.text, NodeKind.lead, NodeKind.item)
            for sent in split_sentences(node.text)
            if len(sent) >= 4
        ]
        if not lines:
            return False
        lines.sort(key=lambda ln: (ln.passage, ln.node.line if ln.node else 0))
        ev.shape = Shape.lines
        ev.lines = _unique(lines)[: self.max_lines + 2]
        return True

    def _cited(self, ev: Evidence, passage: int) -> bool:
        """The passage (1-based) is of an article the question cites (「中小企業基本法8条」)."""
        if not ev.part.articles or not 0 < passage <= len(ev.passages):
            return False
        return of_article(ev.passages[passage - 1].label, ev.part.articles)

    def _meets_need(self, part: Part, text: str) -> bool:
        """The text says what one of the part's needs asks for (「許可を得て」 for a procedure)."""
        return any(
            (rx := self.need_evidence.get(n)) is not None and rx.search(nfkc(text))
            for n in part.needs
        )

    def terms(self, text: str) -> frozenset[str]:
        t = self._terms.get(text)
        if t is None:
            t = frozenset(self.tok.tokenize(text))
            if len(self._terms) > 20_000:
                self._terms.clear()
            self._terms[text] = t
        return t

    def _cue_words(self, part: Part) -> list[str]:
        if part.lang != "ja":
            text = nfkc(part.text).lower()
            return [w for w in _UNIT_HINT if w in text]
        return _unit_words(self.tok.parse(nfkc(part.text)))

    def spelled(self, text: str) -> str:
        """The text in Sudachi's normalised spelling (取組み, 取組 and とりくみ all read 取り組み), so a
        heading is found whichever way the question spells it."""
        key = "\x00" + text
        t = self._spelled.get(key)
        if t is None:
            t = "".join(m.normalized for m in self.tok.parse(nfkc(text)))
            if len(self._spelled) > 20_000:
                self._spelled.clear()
            self._spelled[key] = t
        return t

    def vectors(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vecs]
        if missing:
            for t, v in zip(missing, self.embedder.embed_passages(missing), strict=True):
                self._vecs[t] = v
            if len(self._vecs) > 20_000:
                keep = {t: self._vecs[t] for t in texts}
                self._vecs = keep
        return np.stack([self._vecs[t] for t in texts]) if texts else np.zeros((0, 1))

    def warm(self, texts: list[str]) -> None:
        lines = [strip_bullet(x) for t in texts for x in split_sentences(t)]
        lines = [x for x in dict.fromkeys(lines) if x]
        for i in range(0, len(lines), 4):  # small steps: a question never waits long
            self.vectors(lines[i : i + 4])

    def weights(self, part: Part, idf: dict[str, float]) -> dict[str, float]:
        """The subject's terms with their IDF; ubiquitous ones count little."""
        if part.lang == "en":
            # one group per English word: its Japanese alternatives count once (budget → 予算)
            # "the Kinki Region Development Act" only says where to look: its words are not
            # what the article must name
            own = list(part.subject)
            for word in (x for phrase in part.scope for x in phrase.lower().split()):
                if word in own:
                    own.remove(word)
            words = " ".join([part.inherited, " ".join(own) or part.text])
            groups: dict[str, float] = {}
            for en, g in default_glossary().pairs(words):
                if en in self.cue_words:
                    continue  # "total", "budget", "how many": what is asked, not its subject
                # each Japanese alternative must be written whole (域内総生産, not its 生産)
                alts = set()
                for ja in g:
                    forms = [m.normalized.lower() for m in self.tok.parse(ja) if m.content]
                    # "the three challenges": the count is ours, not a word of a heading
                    if forms and not re.fullmatch(r"[\d一二三四五六七八九十]+つ?|つ", ja):
                        alts.add(" ".join(forms))
                weight = max((min(idf.get(t, 0.0) for t in a.split()) for a in alts), default=0.0)
                if alts and weight > 0:
                    key = "|".join(sorted(alts))
                    groups[key] = max(groups.get(key, 0.0), weight)
            # "What is its budget?" after a Japanese question: its subject is Japanese; "a plan
            # (外客来訪促進計画)": the Japanese term the question quotes names it as written
            quoted = japanese_runs(part.text)
            if part.inherited and detect_lang(part.inherited) == "ja":
                quoted.append(part.inherited)
            for run in quoted:
                for t in self.tok.tokenize(run):
                    if idf.get(t, 0.0) > 0:
                        groups[t] = idf[t]
            strong_groups = {k: v for k, v in groups.items() if v >= LOW_IDF}
            return strong_groups or groups
        else:
            terms = set(part.subject)
            for t in list(terms):
                terms |= set(self.tok.tokenize(t))
            # 「関西文化学術研究都市建設促進法4条の基本方針には」: the law's name says where to
            # look, the rest what its article must say
            if part.scope:
                rest = nfkc(part.text)
                for phrase in part.scope:
                    rest = rest.replace(nfkc(phrase), " ")
                # (「中小企業支援法でいう「中小企業者」の範囲」 keeps the 中小 and 企業 of 中小企業者)
                written = set(self.tok.tokenize(rest))
                kept = {t for t in terms if t in written and not t.isdigit()}
                terms = kept or terms
        w = {t: idf.get(t, 0.0) for t in terms if t.strip()}
        w = {t: v for t, v in w.items() if v > 0}
        strong = {t: v for t, v in w.items() if v >= LOW_IDF}
        return strong or w

    def match(self, weights: dict[str, float], terms: frozenset[str]) -> float:
        """Share of the subject's weight that ``terms`` name (a key "a|b" is named by a or b)."""
        total = sum(weights.values())
        if not total:
            return 0.0
        return sum(v for t, v in weights.items() if _named(t, terms)) / total

    # ---- entry point ------------------------------------------------------------------------
    def find(
        self,
        part: Part,
        passages: list[Passage],
        outline: Outline,
        idf: dict[str, float],
        query_vector: np.ndarray | None = None,
    ) -> Evidence:
        ev = Evidence(part, list(passages))
        if not passages:
            return ev
        w = self.weights(part, idf)
        ev.relatedness = max(
            (self.match(w, self.terms(f"{p.section}\n{p.text}")) for p in passages), default=0.0
        )
        self._shaped(ev, outline, w, query_vector)
        self._sanctioned(ev, outline, w)
        self._actors_defined(ev, outline)
        return ev

    def _shaped(
        self, ev: Evidence, outline: Outline, w: dict[str, float], query_vector: np.ndarray | None
    ) -> Evidence:
        part = ev.part
        if part.articles and self._article_itself(ev, outline, w):
            return ev
        if part.asks is Asks.list and self._list(ev, outline, w):
            return ev
        if (
            part.asks is Asks.list
            and "amount" in part.cues
            and self._figure(ev, outline, w, query_vector)
        ):
            return ev  # 「成長率と市場規模はそれぞれいくつ？」: no list, but the line with both
        if (
            part.asks is Asks.other
            and not part.polar  # "Does it need consent?" is answered by the line that says so
            and self._list(ev, outline, w, min_score=STRICT_LIST)
        ):
            return ev  # 「関西チャレンジ①のキーワードは？」: its subject is a list's own name
        if part.asks is Asks.definition and self._definition(ev, outline, w):
            return ev
        if part.asks is Asks.date and self._figure(ev, outline, w, query_vector, dates=True):
            return ev
        if (
            part.asks is Asks.amount
            and {"何年度", "何年"} & set(self._cue_words(part))
            and self._figure(ev, outline, w, query_vector, dates=True)
        ):
            return ev  # 「数値目標は何年度での実現をめざす？」: the figure's year is asked
        if part.asks in (Asks.amount, Asks.how_many) and self._figure(ev, outline, w, query_vector):
            return ev
        if (
            part.asks is Asks.how_many
            and not _HEAD_COUNT.search(nfkc(part.text))
            and self._list(ev, outline, w, min_score=STRICT_LIST)
        ):
            return ev  # "How many values does the Union have?": no figure, but its list to count
        self._lines(ev, outline, w, query_vector)
        return ev

    # ---- penalties --------------------------------------------------------------------------
    def sanctions(self, outline: Outline) -> Sanctions:
        """The outline's penalty cross-references (built once per outline)."""
        if self._sanctions is None or self._sanctions.outline is not outline:
            self._sanctions = Sanctions(outline)
        return self._sanctions

    def _sanctioned(self, ev: Evidence, outline: Outline, w: dict[str, float]) -> None:
        """「秘密を漏らした場合の罰則は？」: the duty the question describes and the penalty article
        that names it by number, whatever the search ranked first; a duty quoted for any other
        question (「この商号で登記しても問題ない？」) comes with the penalty for breaking it."""
        sanctions = self.sanctions(outline)
        if not sanctions:
            return
        if "penalty" in ev.part.needs:
            found = self._penalty_for(ev, sanctions, w)
            if found is not None:
                duty, s = found
                ev.lines = _unique([self._sentence(ev, duty, w), *self._penalty_lines(ev, s)])
                ev.shape = Shape.lines
            else:
                # a penalty for some other duty does not answer 「…に違反したら罰則は？」; a
                # penalty clause that itself describes the act asked about does (「職員が、その
                # 職務に関して、賄賂を収受し…三年以下の拘禁刑に処する」)
                act = self._duty_weights(w)
                ev.lines = [
                    ln
                    for ln in ev.lines
                    if not (PENALTY.search(ln.text) or sanctions.is_penal(ln.node))
                    or self._describes(ln, self.match(act, self.terms(ln.text)))
                ]
                ev.lines = self._with_penalty(ev, outline)
                if not ev.lines:
                    ev.shape = Shape.none
            return
        if ev.part.asks not in (Asks.yesno, Asks.other) or not ev.found:
            return  # 「この商号で登記しても問題ない？」: a duty quoted comes with its sanction
        for line in ev.lines[:2]:
            node = line.node
            if node is not None and node.kind is NodeKind.heading:
                node = outline.first_text(node)  # 「第八条(商号の使用制限)」: its first 項
            if node is None or not DUTY.search(line.text):
                continue
            enforcing = sanctions.enforcing(node)
            if enforcing:
                ev.lines = _unique([*ev.lines, *self._penalty_lines(ev, enforcing[0])])
                return

    def _actors_defined(self, ev: Evidence, outline: Outline) -> None:
        """「誰が指定する？」 answered by 「…は、主務大臣が、…指定する」: the law's own definition of
        that actor (「この法律における主務大臣は、国土交通大臣、…とする」) comes with it."""
        if ev.part.asks is not Asks.who or not ev.found:
            return
        if self._defined is None or self._defined.outline is not outline:
            self._defined = DefinedTerms(outline)
        for line in ev.lines:
            if line.node is None:
                continue
            for where in self._defined.actors(line.node, line.text)[:1]:
                ev.lines = _unique([*ev.lines, Line(self._home(ev, where, 1), where.text, where)])
                return

    def _penalty_for(
        self, ev: Evidence, sanctions: Sanctions, w: dict[str, float]
    ) -> tuple[Node, Sanction] | None:
        """The (duty, sanction) of the retrieved documents whose duty the question describes:
        the sanction whose duty and clause name the most of the question's words (the duty's
        own chunk among the retrieved passages counts a little more), the duty itself naming a
        quarter at least; of its duties, the block that names the most (the first on a tie: a
        lead before its 号)."""
        retrieved = {p.id for p in ev.passages}
        w = self._duty_weights(w)
        best: tuple[float, Sanction, list[Node]] | None = None
        for doc in dict.fromkeys(p.doc_id for p in ev.passages):
            for s in sanctions.by_doc.get(doc, []):
                duties = [
                    d for d in sanctions.duties(s) if self.match(w, self.terms(d.text)) >= MIN_DUTY
                ]
                if not duties:
                    continue
                score = max(
                    self.match(w, self.terms(f"{d.text}\n{s.clause.text}"))
                    + (SANCTION_RETRIEVED if d.chunk_id in retrieved else 0.0)
                    for d in duties
                )
                if best is None or score > best[0]:
                    best = (score, s, duties)
        if best is None or best[0] < MIN_SANCTION:
            return None
        _, s, duties = best
        duty = max(duties, key=lambda d: (self.match(w, self.terms(d.text)), -d.line))
        return duty, s

    def _with_penalty(self, ev: Evidence, outline: Outline) -> list[Line]:
        """A penal article's later paragraph kept (「2 …犯人が収受した賄賂は、没収する」) comes
        with the paragraph of its article that sets the penalty (「…三年以下の拘禁刑に処する」)."""
        if not ev.lines or any(PENALTY.search(ln.text) for ln in ev.lines):
            return ev.lines
        for ln in ev.lines:
            parent = outline.get(ln.node.parent) if ln.node is not None else None
            if parent is None:
                continue
            for kid in outline.kids(parent):
                if kid is not ln.node and PENALTY.search(kid.text):
                    first = Line(self._home(ev, kid, ln.passage), strip_bullet(kid.text), kid)
                    return _unique([first, *ev.lines])
        return ev.lines

    @staticmethod
    def _describes(line: Line, share: float) -> bool:
        """A penalty clause describes the act asked about when it names a third of the
        question's words, or a quarter and the search ranked it first (「取引先から賄賂を受け
        取ったら」 is 「賄賂を収受し」 in the statute's words)."""
        return share >= MIN_SANCTION or (line.passage == 1 and share >= MIN_DUTY)

    def _duty_weights(self, w: dict[str, float]) -> dict[str, float]:
        """What is asked about is the act: 「違反」「罰則」 are in every penalty clause."""
        return {
            t: v for t, v in w.items() if not any(x in self.penalty_words for x in t.split("|"))
        }

    def _sentence(self, ev: Evidence, node: Node, w: dict[str, float]) -> Line:
        """A block's sentence that names the most of the subject, as a line of the answer."""
        sents = [strip_bullet(x) for x in split_sentences(node.text)] or [node.text]
        text = max(sents, key=lambda x: self.match(w, self.terms(x)))
        return Line(self._home(ev, node, 1), text, node)

    def _penalty_lines(self, ev: Evidence, s: Sanction) -> list[Line]:
        lines = [Line(self._home(ev, s.penalty, 1), strip_bullet(s.penalty.text), s.penalty)]
        if s.clause.id != s.penalty.id:
            lines.append(Line(self._home(ev, s.clause, 1), strip_bullet(s.clause.text), s.clause))
        return lines

    # ---- lists ------------------------------------------------------------------------------
    def _list(
        self, ev: Evidence, outline: Outline, w: dict[str, float], min_score: float = 0.0
    ) -> bool:
        best: tuple[float, Line, list[Line]] | None = None
        count = _stated_count(ev.part.text)
        phrase = self.spelled(nfkc(ev.part.phrase)) if ev.part.phrase else ""
        head = self.spelled(ev.part.head) if ev.part.lang == "ja" else ""
        passages = self.spelled("\n".join(f"{p.section}\n{p.text}" for p in ev.passages))
        head, holds = _written(head, passages), _written(ev.part.holds, passages)
        quoted = re.findall(r"「([^「」]{2,30})」", nfkc(ev.part.text))
        if head and _TIME_TERM.fullmatch(ev.part.head):
            head = ""  # the documents call it otherwise: the terms decide alone
        for rank, node, pi in self._nodes(ev, outline):
            for anchor in (node, *outline.ancestors(node)):
                for label_text, above_text, members in self._lists_of(anchor, outline):
                    if len(members) < 2:
                        continue
                    named = not head or (
                        head in self.spelled(label_text)
                        or any(head in self.spelled(m.text) for m in members)
                    )
                    if holds and holds not in self.spelled(label_text):
                        continue  # 「申請書には何を書けば」: the items its lead-in puts in one
                    own = self.match(w, self.terms(label_text))
                    if not named and not ev.part.kind and own < NAMED_LIST:
                        continue  # 「構成府県市を全部」 is not answered by the four values
                    above = self.match(w, self.terms(above_text))
                    score = own + 0.4 * above + 0.08 / (1 + rank) + (0.1 if head and named else 0)
                    if count and len(members) == count:
                        score += 0.3  # 「4つのバリュー」 with four members
                    if self._cited(ev, pi):
                        score += 0.3  # 「…法4条の基本方針には何を」: the article asked about
                    if any(f"「{q}」とは" in nfkc(label_text) for q in quoted):
                        score += (
                            0.5  # 「「中小企業者」の範囲を号ごとに」: the term's own definition
                        )
                    if ev.part.asks in (Asks.list, Asks.other) and self._meets_need(
                        ev.part, label_text
                    ):
                        # 「認定申請書には何を書けば」: the list its lead-in says goes in the
                        # 申請書, not another list of the same law's words
                        score += 0.3
                    if phrase and self.spelled(nfkc(label_text)) == phrase:
                        # named exactly what is asked (「関西チャレンジ」 is ①②③): more than the 0.4 a
                        # list gets for sitting under a heading of that name
                        score += 0.5
                    if best is None or score > best[0] + 1e-9:
                        lines = [
                            Line(self._home(ev, m, pi), strip_bullet(m.text), m, name=_name(m.text))
                            for m in members
                        ]
                        best = (score, Line(pi, strip_bullet(label_text), anchor), lines)
        if best is None or best[0] < max(MIN_LIST_SCORE, min_score):
            return False
        _, top_anchor, items = best
        top_anchor, items = self._named_group(ev, outline, w, top_anchor, items)
        ev.shape = Shape.list
        ev.anchor = top_anchor
        ev.lines = _unique(items)
        ev.label = _label(top_anchor.text, ev.part.text)
        return True

    def _named_group(
        self, ev: Evidence, outline: Outline, w: dict[str, float], anchor: Line, items: list[Line]
    ) -> tuple[Line, list[Line]]:
        """A list of groups (「(ライフサイエンス…)」「(グリーンイノベーション、カーボンニュートラル)」,
        each with its own items) answers with the one group the question names, if one alone."""
        scored = []
        for ln in items:
            if ln.node is None:
                continue
            subs = [m for m in outline.members(ln.node) if m.kind is NodeKind.item]
            if len(subs) >= 2:
                scored.append((self.match(w, self.terms(ln.text)), ln, subs))
        if len(scored) < 2 or _stated_count(ev.part.text) == len(items):
            return anchor, items  # 「2つの将来像は？」 asks for the groups themselves
        scored.sort(key=lambda t: -t[0])
        top, ln, subs = scored[0]
        if top < NAMED_GROUP or top <= scored[1][0] + 1e-9:
            return anchor, items
        lines = [
            Line(self._home(ev, m, ln.passage), strip_bullet(m.text), m, name=_name(m.text))
            for m in subs
        ]
        return ln, lines

    def _lists_of(self, anchor: Node, outline: Outline) -> list[tuple[str, str, list[Node]]]:
        """(label, the headings above it, members) of the lists a node can anchor."""
        out: list[tuple[str, str, list[Node]]] = []
        above = " ".join(a.text for a in outline.ancestors(anchor)[:3])
        if anchor.kind is NodeKind.row and outline.row_header(anchor) is None:
            return self._columns(anchor, outline)
        if anchor.kind is NodeKind.row:
            header = outline.row_header(anchor)
            paras = outline.members(anchor)
            by_cell: dict[int, list[Node]] = {}
            for m in paras:
                by_cell.setdefault(int(m.extra.get("cell", 0)), []).append(m)
            cells = list(anchor.cells)
            heads = list(header.cells) if header else []
            for ci, members in by_cell.items():
                others = " ".join(c for j, c in enumerate(cells[:2]) if j != ci)
                head = heads[min(ci, len(heads) - 1)] if heads else ""
                out.append((f"{others} {head}", above, members))
            return out
        if anchor.kind in (NodeKind.heading, NodeKind.lead, NodeKind.item):
            members = outline.members(anchor)
            if members:
                out.append((anchor.text, above, members))
        if anchor.kind is NodeKind.heading:
            groups = outline.leaf_groups(anchor)
            if groups:
                out.append((anchor.text, above, groups))
            name, series = outline.ordinal_siblings(anchor)
            if series:  # 「関西チャレンジはいくつ？」: ①②③, the headings of a numbered series
                out.append((name, above, series))
        parts = _enumeration(anchor.text) if anchor.kind in (NodeKind.text, NodeKind.lead) else []
        label = ""
        if len(parts) >= 3:
            prev = _previous_sibling(anchor, outline)
            label = prev.text if prev is not None else ""
        elif anchor.kind in (NodeKind.item, NodeKind.text):
            # 「・希少性(付加価値の向上):産地限定、厳選素材、名工の逸品、…」: a name, a colon, and
            # its examples in one line
            name, colon, rest = strip_bullet(nfkc(anchor.text)).partition(":")
            parts = _enumeration(rest) if colon and 2 <= len(name) <= 40 else []
            label = name
        if len(parts) >= 3:
            fake = [
                Node(
                    id=f"{anchor.id}.{i}",
                    doc_id=anchor.doc_id,
                    kind=NodeKind.item,
                    text=t,
                    parent=anchor.id,
                    line=anchor.line,
                    chunk_id=anchor.chunk_id,
                )
                for i, t in enumerate(parts)
            ]
            out.append((label, above, fake))
        return out

    def _columns(self, header: Node, outline: Outline) -> list[tuple[str, str, list[Node]]]:
        """A table's header row anchors one list per column: that cell of every body row."""
        parent = outline.get(header.parent)
        if parent is None:
            return []
        rows = [k for k in outline.kids(parent) if k.kind is NodeKind.row and k.id != header.id]
        out = []
        for ci, head in enumerate(header.cells):
            members = []
            for r in rows:
                if ci < len(r.cells) and re.search(r"\w", r.cells[ci]) and r.cells[ci] != "×":
                    members.append(
                        Node(
                            id=f"{r.id}.c{ci}",
                            doc_id=r.doc_id,
                            kind=NodeKind.item,
                            text=r.cells[ci],
                            parent=r.id,
                            line=r.line,
                            chunk_id=r.chunk_id,
                        )
                    )
            if len(members) >= 2:
                out.append((head, parent.text, members))
        return out

    # ---- definitions --------------------------------------------------------------------------
    def _definition(self, ev: Evidence, outline: Outline, w: dict[str, float]) -> bool:
        term = nfkc(ev.part.term or ev.part.phrase).strip("「」『』 ")
        if len(term) < 2:
            return False
        squashed = term.replace(" ", "").lower()
        best: tuple[float, Node, int] | None = None
        seen: set[str] = set()
        for rank, node, pi in self._nodes(ev, outline):
            for n in (node, *outline.kids(node)):
                if n.id in seen or n.kind is NodeKind.contents:
                    continue
                seen.add(n.id)
                text = strip_bullet(nfkc(n.text)).replace(" ", "").lower()
                if squashed not in text:
                    continue
                if (
                    text.startswith(squashed)
                    or f"「{squashed}」とは" in text
                    or f"{squashed}とは" in text
                ):
                    score = 2.0
                elif re.search(rf"[(（]{re.escape(squashed)}[)）]", text):
                    score = 1.5  # 「…方針転換(第二創業)」: the line explains its own gloss
                else:
                    score = 1.0
                score += 0.1 / (1 + rank) - 0.002 * len(text) / 10
                if best is None or score > best[0]:
                    best = (score, n, pi)
        if best is None:
            return False
        _, node, pi = best
        lines = [Line(self._home(ev, node, pi), strip_bullet(node.text), node)]
        desc = outline.first_text(node) if node.kind in (NodeKind.heading, NodeKind.item) else None
        if desc is not None and desc.kind is not NodeKind.heading:
            lines.append(Line(self._home(ev, desc, pi), strip_bullet(desc.text), desc))
        items: list[Line] = []
        if node.kind is NodeKind.lead:
            # 「「旅客施設」とは、次に掲げる施設であって…」: what it covers is its items
            items = [
                Line(self._home(ev, m, pi), strip_bullet(m.text), m) for m in outline.members(node)
            ]
        ev.items = items
        ev.shape = Shape.definition
        ev.anchor = lines[0]
        ev.lines = lines
        ev.label = term
        return True

    # ---- figures ------------------------------------------------------------------------------
    def _figure(
        self,
        ev: Evidence,
        outline: Outline,
        w: dict[str, float],
        qvec: np.ndarray | None,
        dates: bool = False,
    ) -> bool:
        """Lines that hold a figure (or, ``dates``, a year or a time the vision uses as a
        milestone) and name the subject."""
        part = ev.part
        # the interrogative's own unit (「何年度分」, 「何社」) is what is asked, before any other
        # unit word of the question (「減収額が…」)
        cues = sorted(self._cue_words(part), key=lambda c: not c.startswith("何"))
        hint = "" if dates else next((_UNIT_HINT[c] for c in cues if c in _UNIT_HINT), "")
        pattern = _WHEN if dates else _QUANTITY
        if dates and _ASKS_PERIOD.search(nfkc(part.text)):
            pattern = _PERIOD_RE
        elif _ASKS_FREQUENCY.search(nfkc(part.text)):
            pattern = _FREQUENCY
        w = {t: v for t, v in w.items() if not _TIME_TERM.fullmatch(t)} or w
        units = self._units(ev, part, w)
        cands: list[tuple[Node, int, int, list[Node], list[str]]] = []
        for rank, node, pi in self._nodes(ev, outline):
            if node.kind in (NodeKind.contents, NodeKind.document, NodeKind.row):
                continue
            text = normalize_numbers(nfkc(node.text))  # 「二十人以下」 holds a figure too
            quantities = pattern.findall(text)
            if quantities:
                cands.append((node, pi, rank, outline.ancestors(node), quantities))
        close, cosines = self._closeness([nfkc(c[0].text) for c in cands], qvec)
        scored: list[tuple[float, Line, bool]] = []
        for (node, pi, rank, ancestors, quantities), near, cos in zip(
            cands, close, cosines, strict=True
        ):
            text = normalize_numbers(nfkc(node.text))
            own = self.match(w, self.terms(text))
            heads = " ".join(a.text for a in ancestors[:3])
            above = self.match(w, self.terms(heads))
            link = max(own, min(1.0, own + 0.6 * above))
            path = nfkc(" ".join(a.text for a in ancestors))
            if units:
                # the line or its headings must name the subject as written: another
                # programme's budget does not answer 「6次産業化の予算」
                if not any(u in text or u in path for u in units) and not (
                    hint != "円" and cos >= SAME_MEANING and link >= MIN_FIGURE_LINK
                ):
                    continue  # (a line that means the same may say it otherwise: 高齢化率)
            elif hint == "円" and part.lang == "ja":
                total = part.total and node.kind in (NodeKind.heading, NodeKind.lead)
                if not (total and _dated(nfkc(text), part.years)):
                    continue  # a budget is only ever the budget of something the line names
                # 「令和5年度の予算総額」: the dated heading that gives the total names it
            elif hint == "円" and link < 0.5:
                continue
            elif link < MIN_FIGURE_LINK and cos < SAME_MEANING:
                continue  # a paraphrase: only a line that means the same may answer
            if hint and not any(_of_unit(q, hint) for q in quantities):
                continue  # 「補助率は？」 is not answered by a budget in 円
            if (
                part.years
                and _FISCAL_YEAR.search(f"{text} {path}")
                and not _dated(f"{text} {path}", part.years)
            ):
                continue  # 「令和6年度はいくら？」 is not answered by the 令和5年度 budget
            actual = _is_actual(text)
            dated = bool(part.years) and _dated(nfkc(f"{text} {heads}"), part.years)
            if part.when is not When.now and part.years and part.when is not When.target:
                actual = dated and not _TARGET_WORDS.search(text)  # 「2023年の関西のGRP」
            if part.when is When.past:
                actual = bool(_PAST_WORDS.search(f"{text} {heads}"))  # 「前回の目標」
            score = link + 0.25 * near + (0.3 if dated else 0.0) + 0.1 / (1 + rank)
            if part.total and node.kind in (NodeKind.heading, NodeKind.lead):
                score += 0.5  # 「令和5年度事業《予算額:55,969千円》」: the list's own total
            scored.append((score, Line(pi, strip_bullet(node.text), node), actual))
        ev.unit_hint = hint
        if part.when in (When.now, When.past) or (part.years and part.when is not When.target):
            ev.targets = [s[1] for s in sorted(scored, key=lambda s: -s[0]) if not s[2]][:2]
            scored = [s for s in scored if s[2]]
        if not scored:
            return False
        scored.sort(key=lambda s: -s[0])
        if part.total:
            # 「全部でいくら？」: the heading or lead that states the total answers it; the
            # items below it are its parts, however well they name the subject
            tops = [
                sc
                for sc in scored
                if sc[1].node and sc[1].node.kind in (NodeKind.heading, NodeKind.lead)
            ]
            if tops:
                lead = tops[0]
                rest = [sc for sc in scored if sc is not lead]
                best = max([lead[0], *(sc[0] for sc in rest)])
                scored = [(best, lead[1], lead[2]), *rest]
        top = scored[0][0]
        chosen = [s for s in scored if s[0] >= top - 0.15]
        if part.rank and not dates:
            # 「いちばん予算が大きいのは？」: every figure of the list, largest (or smallest) first —
            # all the items of the list the best line is in, not only those that name the subject
            pool = [s for s in scored if s[0] >= top - 0.4]
            head = scored[0][1]
            parent = None
            if head.node is not None and head.node.kind is NodeKind.item:
                parent = outline.get(head.node.parent)
            elif head.node is not None:
                parent = head.node  # 「令和5年度事業《予算額:…》」: the total's own items
            if parent is not None:
                items = [
                    m
                    for m in outline.members(parent)
                    if m.kind is NodeKind.item and _QUANTITY.search(normalize_numbers(nfkc(m.text)))
                ]
                if len(items) >= 2:
                    pool = [
                        (0.0, Line(self._home(ev, m, head.passage), strip_bullet(m.text), m), False)
                        for m in items
                    ]
            chosen = sorted(
                pool, key=lambda s: _value(s[1].text) * (-1 if part.rank == "max" else 1)
            )
            ev.ranked = part.rank
        chosen = chosen[: self.max_lines]
        ev.shape = Shape.figure
        ev.lines = _unique([c[1] for c in chosen])
        for ln in list(
            ev.lines
        ):  # 「・生産年齢人口…」 → its 「- 約7,406人(2020) → 約5,978万人(2040)」
            for kid in outline.kids(ln.node) if ln.node else []:
                if kid.kind is NodeKind.item and _QUANTITY.search(nfkc(kid.text)):
                    ev.lines.append(
                        Line(self._home(ev, kid, ln.passage), strip_bullet(kid.text), kid)
                    )
        ev.lines = _unique(ev.lines)[: self.max_lines]
        ev.actual = any(c[2] for c in chosen)
        first = ev.lines[0]
        m = _FIGURE_ITEM.match(nfkc(first.text))
        if m:
            ev.figure_name, ev.figure = m.group(1).strip().lstrip("◇"), m.group(2).strip()
            parent = outline.get(first.node.parent) if first.node else None
            if parent is not None and "予算額" in parent.text and hint == "円":
                ev.figure_kind = "予算額"
        elif h := _FIGURE_HEADING.match(nfkc(first.text)):
            ev.figure_name, ev.figure_kind, ev.figure = h.group(1).strip(), h.group(2), h.group(3)
        return True

    def _units(self, ev: Evidence, part: Part, w: dict[str, float]) -> list[str]:
        """The subject's units (「6次産業化」, 「スタートアップ」) that the retrieved passages
        write: a figure must sit on a line that names one of them. None when the documents use
        other words (a paraphrase), then closeness of meaning decides."""
        text = nfkc("\n".join(f"{p.section}\n{p.text}" for p in ev.passages))
        scored = []
        for u in part.compounds:
            u = nfkc(u)
            if _TIME_TERM.fullmatch(u) or u not in text:
                continue
            if part.total and u in _TOTAL_WORDS:
                continue  # 「総額」 is the kind of figure asked for, not what it is of
            nouns = [m for m in self.tok.parse(u) if m.coarse == "名詞"]
            if not nouns or all(m.normalized in part.soft for m in nouns):
                continue  # 「見込ま(れて)」, 「上がる見込み」: what happens to it, not what it is
            scored.append((max((w.get(t, 0.0) for t in self.terms(u)), default=0.0), u))
        top = max((s for s, _ in scored), default=0.0)
        # the most distinctive of them: 「関西広域連合の空飛ぶクルマの予算」 is about 空飛ぶクルマ
        return [u for s, u in scored if s >= 0.8 * top and s > 0]

    def _closeness(
        self, texts: list[str], qvec: np.ndarray | None
    ) -> tuple[list[float], list[float]]:
        """Per text: closeness to the question relative to the nearest one (0..1), and the
        cosine itself."""
        if qvec is None or not texts:
            return [0.0] * len(texts), [0.0] * len(texts)
        sims = self.vectors(texts) @ qvec
        hi = float(sims.max())
        rel = [min(1.0, max(0.0, (float(x) - (hi - EMB_WINDOW)) / EMB_WINDOW)) for x in sims]
        return rel, [float(x) for x in sims]

    # ---- lines ------------------------------------------------------------------------------
    def _lines(
        self, ev: Evidence, outline: Outline, w: dict[str, float], qvec: np.ndarray | None
    ) -> None:
        cands: list[Line] = []
        lex: list[float] = []
        nodes = self._nodes(ev, outline, with_text=True)
        acts: list[str] = []
        if ev.part.asks is Asks.who:
            nodes += self._referred(ev, outline, nodes)
            acts = self._acts(ev.part)
        for _rank, node, pi in nodes:
            if node.kind in (NodeKind.contents, NodeKind.document, NodeKind.row):
                continue
            for sent in split_sentences(node.text):
                text = strip_bullet(sent)
                if len(text) < 4 or looks_like_instruction(text):
                    continue
                heading = " ".join(a.text for a in outline.ancestors(node)[:2])
                score = self.match(w, self.terms(text)) + 0.25 * self.match(w, self.terms(heading))
                if ev.part.asks is Asks.how and _ARITHMETIC.search(nfkc(text)):
                    score += 0.4  # 「どうやって出した数字？」: the line that computes it
                if ev.part.asks is Asks.date and _YEAR_EXPR.search(nfkc(text)):
                    score += 0.3  # 「何年度での実現？」: a line with a year
                if ev.part.change and _CHANGE_WORDS.search(text):
                    score += 0.4  # 「前回から変わった？」: the line that says what changed
                if self._meets_need(ev.part, text):
                    score += 0.3  # 「設置の手続きは？」: the line that says 「許可を得て」
                if self._cited(ev, pi):
                    score += 0.3  # 「地方自治法第二百九十一条の二には何が」: that article
                if ev.part.addressee and _HANDED_TO.search(nfkc(text)):
                    score += 0.4  # 「作ったらどこに出す？」: 「観光庁長官に提出しなければならない」
                if ev.part.asks is Asks.who and _AUTHORITY_ACTS.search(nfkc(text)):
                    score += 0.25  # "who certifies …?": the provision an authority acts in
                if acts and any(_done(a, nfkc(text)) for a in acts):
                    score += 0.3  # 「認定することができる」, not the 認定 of 認定情報提供機関
                cands.append(Line(pi, text, node, score, name=self._named_by(node, outline)))
                lex.append(score)
        if not cands:
            return
        if qvec is not None:
            sims = self.vectors([c.text for c in cands]) @ qvec
            hi = float(sims.max())
            for c, sim in zip(cands, sims, strict=True):
                close = min(1.0, max(0.0, (float(sim) - (hi - EMB_WINDOW)) / EMB_WINDOW))
                c.score = 0.55 * c.score + 0.45 * close
        for c in cands:
            c.score += 0.1 * ev.passages[c.passage - 1].score / math.sqrt(c.passage)
        top_lex = max(lex)
        if top_lex > 0:
            cands = [c for c, x in zip(cands, lex, strict=True) if x >= 0.25 * top_lex] or cands
        cands.sort(key=lambda c: -c.score)
        best = cands[0].score
        chosen = _unique([c for c in cands if c.score >= 0.6 * best])[: self.max_lines]
        chosen.sort(key=lambda c: (ev.passages[c.passage - 1].doc_id, c.node.line if c.node else 0))
        lead = next(
            (c for c in chosen if c.node is not None and c.node.kind is NodeKind.lead), None
        )
        if (
            lead is not None
            and ev.part.asks is Asks.who
            and not re.search(r"次(?:の各号)?に掲げる(?:者|機関|団体)", nfkc(lead.text))
        ):
            # 「経済産業大臣は、毎年、次に掲げる事業…の計画を定める」: its items are no actors
            lead = None
        if lead is not None and lead.node is not None:
            # 「第四条 次に掲げる者は、…協議会を組織することができる」: who they are is its items
            at = chosen.index(lead)
            items = [
                Line(self._home(ev, m, lead.passage), strip_bullet(m.text), m)
                for m in outline.members(lead.node)
            ]
            if items:
                chosen = _unique([*chosen[: at + 1], *items, *chosen[at + 1 :]])
                chosen = chosen[: max(self.max_lines, at + 1 + len(items))]
        ev.shape = Shape.lines
        ev.lines = self._described(ev, outline, chosen)

    def _described(self, ev: Evidence, outline: Outline, chosen: list[Line]) -> list[Line]:
        """A heading quoted as an answer line says only its name (「● シナジー(協働、相乗、相互補
        完)」): the description right under it follows it (for the first two lines)."""
        out: list[Line] = []
        keys = {c.key for c in chosen}
        for k, c in enumerate(chosen):
            out.append(c)
            node = c.node
            if k >= 2 or node is None or node.kind is not NodeKind.heading:
                continue
            desc = outline.first_text(node)
            if desc is None or desc.kind is not NodeKind.text:
                continue
            line = Line(self._home(ev, desc, c.passage), strip_bullet(desc.text), desc)
            if line.key not in keys:
                keys.add(line.key)
                out.append(line)
        return out

    def _named_by(self, node: Node, outline: Outline) -> str:
        """The short heading a description sits under (● スケールメリット(…) → its text), so
        「何と呼ばれている？」 gets the name with the explanation."""
        parent = outline.get(node.parent)
        if (
            parent is not None
            and parent.kind in (NodeKind.heading, NodeKind.item)
            and node.kind is NodeKind.text
            and parent.level >= 4
            and len(strip_bullet(parent.text)) <= 30
        ):
            return strip_bullet(parent.text)
        return ""

    def _acts(self, part: Part) -> list[str]:
        """What a who-question asks is done, in the documents' words: 「誰が認定する」 → 認定,
        "who certifies / who must approve" → 認定, 承認."""
        if part.lang == "ja":
            ms = self.tok.parse(part.text)
            for i, mo in enumerate(ms):
                if mo.normalized not in ("誰", "だれ", "どなた"):
                    continue
                # 「誰が認定する」「誰かの認定が必要」: the word 誰 governs (not the 変更 of
                # 「変更するには」, which only sets the scene)
                for x in ms[i + 1 : i + 4]:
                    if x.coarse in ("名詞", "動詞") and not x.is_("名詞", "数詞"):
                        return [x.normalized] if _a_word(x.normalized) else []
                return []
            return [t for t in part.predicates if _a_word(t)]
        verb = re.search(
            r"\bwho\s+(?:must|can|may|shall|should|will|would|is to|has to)?\s*(\w+)",
            part.text.lower(),
        )
        if verb is None:
            return []
        pairs = default_glossary().pairs(verb.group(1))
        return [ja for _en, g in pairs for ja in g if len(ja) >= 2]

    def _referred(
        self, ev: Evidence, outline: Outline, nodes: list[tuple[int, Node, int]]
    ) -> list[tuple[int, Node, int]]:
        """The paragraph a found one refers to as 前項 (「2 前項の認定を受けた者は」 → 第1項,
        「経済産業大臣は、…認定することができる」): who acts is said there."""
        have = {n.id for _r, n, _p in nodes}
        out: list[tuple[int, Node, int]] = []
        for rank, node, pi in nodes:
            if "前項" not in node.text or node.parent is None:
                continue
            parent = outline.get(node.parent)
            kids = outline.kids(parent) if parent is not None else []
            i = next((j for j, k in enumerate(kids) if k.id == node.id), -1)
            prev = next(
                (k for k in reversed(kids[:i]) if k.kind in (NodeKind.text, NodeKind.lead)), None
            )
            if i > 0 and prev is not None and prev.id not in have:
                have.add(prev.id)
                out.append((rank, prev, self._home(ev, prev, pi)))
        return out

    def _home(self, ev: Evidence, node: Node, fallback: int) -> int:
        """The passage (1-based) that holds ``node``: a list's members may sit in chunks the
        search did not return (each ● value has its own chunk); those are added."""
        key = _squashed(strip_bullet(node.text))

        def holds(chunk_id: str, section: str, text: str) -> bool:
            squashed = self._squashed.get(chunk_id)
            if squashed is None:  # a chunk's text is fixed by its id (a content hash)
                squashed = self._squashed[chunk_id] = _squashed(f"{section}\n{text}")
            return key in squashed

        for i, p in enumerate(ev.passages, start=1):
            if p.id == node.chunk_id and holds(p.id, p.section, p.text):
                return i
        for i, p in enumerate(ev.passages, start=1):
            if p.doc_id == node.doc_id and holds(p.id, p.section, p.text):
                return i
        records = self.records()
        rec = records.get(node.chunk_id) if node.chunk_id else None
        if rec is None or not holds(
            node.chunk_id, str(rec.get("section", "")), str(rec.get("text", ""))
        ):
            # a line the document repeats is kept once in the chunks (the ◆ lines of 関西チャレンジ
            # ② come again under its B): the chunk that holds its text is its home
            rec = next(
                (
                    r
                    for r in records.values()
                    if r.get("doc_id") == node.doc_id
                    and holds(str(r["id"]), str(r.get("section", "")), str(r.get("text", "")))
                ),
                None,
            )
        if rec is None:
            return fallback
        ev.passages.append(Passage.from_record(rec, 0.0))
        return len(ev.passages)

    # ---- nodes of the retrieved passages ---------------------------------------------------------
    def _nodes(
        self, ev: Evidence, outline: Outline, with_text: bool = False
    ) -> list[tuple[int, Node, int]]:
        """(rank, node, passage number) for the outline nodes of every retrieved passage; a
        passage without an outline gives one pseudo-node per line."""
        out: list[tuple[int, Node, int]] = []
        for rank, p in enumerate(ev.passages):
            held = outline.in_chunk(p.id)
            if not held:
                for i, line in enumerate(p.text.splitlines()):
                    if line.strip():
                        out.append((rank, _pseudo(p, i, line), rank + 1))
                continue
            for n in held:
                if (
                    n.kind is NodeKind.heading and not with_text
                ) or n.kind is not NodeKind.document:
                    out.append((rank, n, rank + 1))
        return out


def _named(key: str, terms: frozenset[str]) -> bool:
    """A weight key is a term, or alternatives "a b|c" (all of a and b, or c)."""
    if key in terms:
        return True
    if "|" not in key and " " not in key:
        return False
    return any(all(t in terms for t in alt.split()) for alt in key.split("|"))


def _squashed(text: str) -> str:
    return re.sub(r"\s+", "", nfkc(text))


def _pseudo(p: Passage, i: int, line: str) -> Node:
    return Node(
        id=f"{p.id}:{i}",
        doc_id=p.doc_id,
        kind=NodeKind.item if strip_bullet(line) != line.strip() else NodeKind.text,
        text=line.strip(),
        parent=None,
        line=int(p.position.get("line_start") or 0) + i,
        chunk_id=p.id,
    )


_EN_COUNT = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_KANJI_COUNT = {"二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _stated_count(text: str) -> int:
    """How many items the question says the list has (「4つの」, "the three …"), or 0."""
    t = nfkc(text)
    m = re.search(r"(\d+|[二三四五六七八九十])\s*(?:つ|個|種類|点)", t)
    if m:
        g = m.group(1)
        return int(g) if g.isdigit() else _KANJI_COUNT[g]
    for w in re.findall(r"[a-z]+", t.lower()):
        if w in _EN_COUNT:
            return _EN_COUNT[w]
    return 0


def _previous_sibling(node: Node, outline: Outline) -> Node | None:
    parent = outline.get(node.parent)
    if parent is None:
        return None
    kids = outline.kids(parent)
    for a, b in itertools.pairwise(kids):
        if b.id == node.id:
            return a
    return None


def _enumeration(text: str) -> list[str]:
    """「AI、IoT、ビッグデータ、…」: the items of a list written in one line (short, no verb)."""
    t = strip_bullet(nfkc(text))
    if "。" in t or len(t) > 400:
        return []
    parts = [x.strip() for x in re.split(r"[、,]", t) if x.strip()]
    if len(parts) < 3 or any(len(x) > 20 for x in parts):
        return []
    return parts


def _name(text: str) -> str:
    """A list item's short name: the text before a closing gloss (「スケールメリット(規模の…)」)."""
    t = strip_bullet(nfkc(text))
    m = _PAREN_TAIL.match(t)
    return (m.group(1) if m else t).strip()


def _label(anchor: str, question: str) -> str:
    """What a list is called, copied from its anchor: a short heading whole (「2つの将来像」), or
    the counted phrase the question shares with a long one (「4つのバリュー」); else nothing."""
    core = strip_bullet(nfkc(anchor)).strip()
    for o, c in ("【】", "[]", "()", "（）"):
        if core.startswith(o) and core.endswith(c):
            core = core[1:-1].strip()  # 「【2つの将来像】」, not the gloss of 「…の向上(DX)」
    # a name, not a clause: 「世界人口は80億人に到達」 does not label its sub-items
    if 2 <= len(core) <= 20 and "|" not in core and not re.search(r"[はがを]", core):
        return core
    span = _common_span(anchor, question)
    return span if re.search(r"\d+つの|[一二三四五六七八九十]つの", span) else ""


def _common_span(anchor: str, question: str) -> str:
    """The longest stretch of the anchor that the question also writes (「4つのバリュー」)."""
    a, q = nfkc(anchor), nfkc(question)
    best = ""
    for i in range(len(a)):
        for j in range(i + len(best) + 1, min(len(a), i + 40) + 1):
            if a[i:j] in q:
                best = a[i:j]
            else:
                break
    best = best.strip("、。「」()の は")
    return best if len(best) >= 2 else ""


def _unique(lines: list[Line]) -> list[Line]:
    seen: set[str] = set()
    out = []
    for ln in lines:
        if ln.key in seen:
            continue
        seen.add(ln.key)
        out.append(ln)
    return out


def _value(text: str) -> float:
    """The figure of a line in plain units (「13,043千円」 → 13,043,000): its first quantity with
    a unit (not the 5 of 「令和5年度事業《予算額:55,969千円》」), else its first number."""
    t = normalize_numbers(nfkc(text))
    q = _QUANTITY.search(t)
    m = re.search(r"(\d[\d,]*(?:\.\d+)?)\s*(千|万|億|兆)?", q.group() if q else t)
    if not m:
        return 0.0
    scale = {"千": 1e3, "万": 1e4, "億": 1e8, "兆": 1e12}.get(m.group(2) or "", 1.0)
    return float(m.group(1).replace(",", "")) * scale


def _dated(text: str, years: list[str]) -> bool:
    """The text names one of ``years`` (2023, or its era form 令和5年)."""
    for y in years:
        if not y.isdigit():
            continue
        era = int(y) - 2018
        if y in text or (era > 0 and re.search(rf"令和\s*{era}\s*年", text)):
            return True
    return False


def _is_actual(text: str) -> bool:
    """A figure dated in the past (「29.0%(2022)」) or called current, not a target."""
    if _TARGET_WORDS.search(text):
        return bool(_ACTUAL_WORDS.search(text))
    return bool(_PAST_YEAR.search(text) or _ACTUAL_WORDS.search(text))


def _unit_words(morphs: list[Any]) -> list[str]:
    """The unit cues that stand as words of their own: 「高齢化率」 is 高齢化 + 率 (a rate in %),
    「出生率」 is one word (a named ratio, not a percentage) and 「予算額」 is 予算額."""
    out = []
    for i, m in enumerate(morphs):
        nxt = morphs[i + 1 : i + 3]
        if len(nxt) == 2 and nxt[0].surface == "の" and nxt[1].coarse == "名詞":
            continue  # 「基準財政収入額の算定で…何年度分」: the 額 names another noun, not what is asked
        forms = [m.surface.lower(), m.normalized.lower()]
        if m.surface == "何" and i + 1 < len(morphs):
            forms.insert(0, m.surface + morphs[i + 1].surface)  # 何 + 社: 「何社」 counts companies
        for form in forms:
            if form in _UNIT_HINT and form not in out:
                out.append(form)
    return out
