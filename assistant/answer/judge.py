"""Does the evidence answer the part? Decided per part, by meaning, without any model.

A part is not covered when
- its subject is a name the documents never use (九州, 首都圏) — the asker's own name and
  company were removed by the understanding step and never count;
- it names a period the documents never mention (令和6年度);
- it asks for today's value of a figure the documents give only as a target;
- it asks for a figure (a budget, a share) and no line about its subject holds one;
- its whole content is something the documents lack (a deadline, a phone number, a procedure);
- a yes/no question's topic is not in the documents, or nothing relevant was found.
Needs the documents lack in an otherwise answered part (「…と予算、それから申請の締切」) are
reported one by one, so the answer can say what is covered and what is not.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from assistant.answer.evidence import Evidence, EvidenceFinder, Shape
from assistant.answer.rules import RuleSet
from assistant.answer.text import nfkc
from assistant.answer.understand import Asks, Part, When
from assistant.retrieval.searcher import Passage
from assistant.text.bilingual import default_glossary
from assistant.text.numerals import normalize_numbers
from assistant.text.tokenizer import Tokenizer

# Regions outside the vision and places inside it (the vision covers all of Kansai).
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
        "東京",
        "名古屋",
        "福岡",
        "札幌",
        "仙台",
        "広島",
        "横浜",
    ]
)
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
IN_SCOPE = frozenset(
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
        "日本",
        "令和",
        "平成",
    ]
)
MIN_YESNO = 0.6
YESNO_DENSE = 0.86  # e5 cosine of a passage that clearly speaks of it (a paraphrased topic)
MIN_RELATED = 0.34


@dataclass
class Coverage:
    covered: bool
    reason: str = ""  # unknown | period | current_value | amount | need | yesno | far | nothing
    topic: str = ""  # what is not covered, as the presenter names it (「九州」, 「締切・期限」)
    missing: list[str] = field(default_factory=list)  # needs the documents lack (rule names)
    related: list[Passage] = field(default_factory=list)  # nearest passages that are related


class Judge:
    def __init__(
        self, tokenizer: Tokenizer, rules: RuleSet, finder: EvidenceFinder, min_dense: float
    ) -> None:
        self.tok = tokenizer
        self.rules = rules
        self.finder = finder
        self.min_dense = min_dense

    def judge(
        self,
        ev: Evidence,
        vocabulary: set[str],
        corpus_years: set[str],
        idf: dict[str, float],
        corpus: Corpus | None = None,
    ) -> Coverage:
        part = ev.part
        related = self.related(ev, idf)
        if corpus is not None:
            unwritten = [t for t in self._named_terms(part) if not corpus.writes(t)]
            if unwritten:
                # 「「中堅企業」はどう定義？」「大阪府の中小企業振興基本条例では」: what the question
                # names as a whole is written nowhere, so no passage speaks of it
                return Coverage(False, "unknown", unwritten[0], related=related)
            absent = [a for a in _articles(part) if not corpus.has_article(part.documents, a)]
            if part.documents and absent:
                law = f"{part.scope[0]}の" if part.scope else ""  # 「中小企業基本法の第40条」
                return Coverage(False, "unknown", f"{law}{absent[0]}", related=[])
        unknown = [
            n
            for n in self.unknown(part, vocabulary)
            if n in OTHER_REGIONS or not _abbreviates(n, ev.passages, self._documents(ev))
        ]
        if unknown:
            return Coverage(False, "unknown", "、".join(unknown), related=related)
        years = [y for y in part.years if y not in corpus_years]
        if years:
            return Coverage(
                False, "period", "、".join(_era(y, part.lang) for y in years), related=related
            )
        if not ev.passages:
            return Coverage(False, "nothing")
        missing = self.missing_needs(part, _holding(ev))
        if (ev.shape is Shape.list and len(ev.lines) >= 2) or ev.shape is Shape.figure:
            # 「いくつありますか」 of a list: counting its items answers it; 「成長率はいくつ？」:
            # the figure does
            missing = [n for n in missing if n != "count"]
        best_dense = max((p.dense or 0.0) for p in ev.passages)
        if best_dense and best_dense < self.min_dense and ev.relatedness < 0.5:
            return Coverage(False, "far", f"{best_dense:.2f}", missing, related=related)
        value_of = "past_value" if part.when is When.past else "current_value"
        if (
            part.when in (When.now, When.past)
            and part.asks in (Asks.amount, Asks.how_many)
            and not ev.actual
        ):
            near = related or [ev.passages[t.passage - 1] for t in ev.targets]
            return Coverage(False, value_of, part.phrase, missing, related=_dedupe(near))
        if (
            part.asks in (Asks.amount, Asks.how_many)
            and ev.shape is not Shape.figure
            and ev.targets
        ):
            # 「2023年の関西のGRP」: the documents hold only a target for it
            near = related or [ev.passages[t.passage - 1] for t in ev.targets]
            return Coverage(False, value_of, part.phrase, missing, related=_dedupe(near))
        if (
            part.only
            and part.asks in (Asks.amount, Asks.how_many)
            and ev.shape is Shape.figure
            and not self._of_place(part, ev)
        ):
            # 「大阪府だけの出生率」 is not answered by Japan's 1.26
            near = related or ev.passages[:2]
            return Coverage(False, "scope", "、".join(part.only), missing, related=near)
        counted = part.asks is Asks.how_many and ev.shape is Shape.list and len(ev.lines) >= 2
        if (
            part.asks in (Asks.amount, Asks.how_many)
            and ev.shape is not Shape.figure
            and not counted
        ):
            # a figure is asked for and no line holding one names the subject (「有効求人倍率」)
            return Coverage(
                False, "amount", part.phrase or part.inherited, missing, related=related
            )
        if (
            part.asks is Asks.date
            and ev.shape is not Shape.figure
            and part.compounds
            and self._named(part, ev)
        ):
            # 「前回の改訂はいつ？」: what it is about is written, but no date goes with it
            return Coverage(False, "date", part.phrase or part.inherited, missing, related=related)
        if (
            part.asks is Asks.list
            and ev.shape not in (Shape.list, Shape.figure)
            and not part.articles  # 「第291条の2には何が」: the article cited is the answer
            and self._head_missing(part, ev)
        ):
            # 「構成府県市を全部教えて」: the documents have no such list, nor its name
            return Coverage(False, "nothing", part.head, missing, related=related)
        if part.asks is Asks.yesno and not (
            ev.relatedness >= MIN_YESNO or (ev.relatedness >= 0.3 and best_dense >= YESNO_DENSE)
        ):
            return Coverage(False, "yesno", part.phrase, missing, related=related)
        if part.asks is Asks.yesno and self._some_unknown(part, vocabulary):
            # 「半導体産業の振興については触れていますか」: no document uses 「半導体」, so the
            # lines about 産業の振興 do not mention it
            return Coverage(False, "yesno", part.phrase, missing, related=related)
        if (
            part.asks in (Asks.date, Asks.where, Asks.who, Asks.how_many)
            and part.lang == "ja"
            and ev.relatedness < MIN_RELATED
            and part.compounds
            and not any(c in _text(ev.passages) for c in part.compounds)
        ):
            # 「確定版はいつ公表？」: what it asks about is not in the documents at all
            return Coverage(False, "unknown", part.compounds[0], missing, related=related)
        if part.asks is Asks.amount and set(missing) & {"subsidy_rate", "cost", "fee", "penalty"}:
            # 「補助金の上限額はいくら？」「罰金はいくら？」: the amount asked for is the very thing
            # not given
            return Coverage(False, "need", "", missing, related=related)
        if missing and set(missing) == set(part.needs) and not _answers_itself(part, ev):
            return Coverage(False, "need", "", missing, related=related)
        if not ev.found:
            return Coverage(False, "nothing", part.phrase, missing, related=related)
        if part.subject and ev.relatedness == 0.0 and self._all_unknown(part, vocabulary):
            return Coverage(False, "unknown", part.phrase, missing, related=[])
        return Coverage(True, missing=missing)

    # ---- signals --------------------------------------------------------------------------------
    def _named_terms(self, part: Part) -> list[str]:
        """What a Japanese question names as a whole and must be written as such: a term it
        quotes (「中堅企業」, not words it quotes: 「規約を変えるよう要請して」) and a named
        ordinance or rule. (The term a definition asks about unquoted is often the asker's own
        paraphrase: it is not required to be written.)"""
        if part.lang != "ja":
            return []
        text = nfkc(part.text)
        out = [q for q in _QUOTED.findall(text) if self._a_name(q)]
        out += _NAMED_RULES.findall(text)
        return list(dict.fromkeys(out))

    def _a_name(self, text: str) -> bool:
        """Nouns only (with their prefixes, suffixes and 「・」): a name, not a phrase."""
        ms = [m for m in self.tok.parse(text) if m.coarse != "空白"]
        return bool(ms) and all(m.coarse in ("名詞", "接頭辞", "接尾辞", "補助記号") for m in ms)

    def _documents(self, ev: Evidence) -> Iterator[str]:
        """The text of every chunk of the documents found (「新関空会社」 in a penalty question:
        the company is spelled out in the law's first articles, not in its penalties)."""
        docs = {p.doc_id for p in ev.passages}
        return (
            str(r.get("text", ""))
            for r in self.finder.records().values()
            if r.get("doc_id") in docs
        )

    def unknown(self, part: Part, vocabulary: set[str]) -> list[str]:
        """Names in the subject that no document uses (another region, another plan)."""
        if part.lang == "en":
            return [w for w in re.findall(r"[A-Za-z]+", part.text) if w.lower() in OTHER_REGIONS_EN]
        out = []
        for name in part.names:
            if name in IN_SCOPE or name in OTHER_REGIONS:
                if name in OTHER_REGIONS:
                    out.append(name)
                continue
            terms = [t for t in self.tok.tokenize(name) if t.strip()]
            if terms and not all(t in vocabulary for t in terms):
                out.append(name)
        for t in part.subject:
            if t in OTHER_REGIONS and t not in out:
                out.append(t)
        return out

    def missing_needs(self, part: Part, passages: list[Passage]) -> list[str]:
        # 「二十人以下」 holds a count as 「20人以下」 does: one numeral normaliser for both
        text = normalize_numbers(nfkc("\n".join(f"{p.section}\n{p.text}" for p in passages)))
        out = []
        for name in part.needs:
            rule = self.rules.needs[name]
            if rule.evidence is not None and not rule.evidence.search(text):
                out.append(name)
        return out

    def related(self, ev: Evidence, idf: dict[str, float]) -> list[Passage]:
        """Passages that name the subject (none rather than unrelated ones)."""
        w = self.finder.weights(ev.part, idf)
        if not w:
            return []
        out = []
        for p in ev.passages:
            if self.finder.match(w, self.finder.terms(f"{p.section}\n{p.text}")) >= MIN_RELATED:
                out.append(p)
        return out[:3]

    def _named(self, part: Part, ev: Evidence) -> bool:
        text = _text(ev.passages)
        return part.lang == "ja" and any(nfkc(c) in text for c in part.compounds)

    def _head_missing(self, part: Part, ev: Evidence) -> bool:
        if part.lang != "ja" or len(nfkc(part.head)) < 2 or part.kind:
            return False
        head = self.finder.spelled(part.head)
        return not any(head in self.finder.spelled(f"{ln.text} {ln.name}") for ln in ev.lines)

    def _of_place(self, part: Part, ev: Evidence) -> bool:
        """Whether a figure line (or the heading right above it) names the place the question
        limits itself to; an English place is looked for as the glossary writes it."""
        places = [nfkc(p) for p in part.only]
        if part.lang != "ja":
            places = [t for p in part.only for t in default_glossary().terms(p)]
        for ln in ev.lines:
            heading = ev.passages[ln.passage - 1].section.split(" > ")[-1]
            if any(p in nfkc(f"{ln.text} {heading}") for p in places):
                return True
        return False

    def _some_unknown(self, part: Part, vocabulary: set[str]) -> bool:
        """A word of the subject that no document uses."""
        return any(t not in vocabulary for t in _subject_words(part))

    def _all_unknown(self, part: Part, vocabulary: set[str]) -> bool:
        terms = _subject_words(part)
        return bool(terms) and not any(t in vocabulary for t in terms)


class Corpus(Protocol):
    """What the documents write at all (the engine's corpus statistics)."""

    def writes(self, term: str) -> bool: ...

    def has_article(self, doc_ids: list[str], label: str) -> bool: ...


_QUOTED = re.compile(r"「([^「」]{2,20})」")
# a named ordinance, rule or guideline (「大阪府中小企業振興基本条例」): a document of its own
# 「大阪府中小企業振興基本条例」, and the names made with に関する, the way Japanese ordinances
# are titled (「兵庫県の中小企業の振興に関する条例」)
_NAME_WORD = r"[\u3400-\u9fffァ-ヴー]{2,}"
_NAMED_RULES = re.compile(
    rf"(?:{_NAME_WORD}(?:の{_NAME_WORD})*に関する|{_NAME_WORD})(?:条例|規則|要綱)"
)
# 「第二百九十一条の二」「第40条」, and after a law's name without 第 (「中小企業基本法8条で」)
_ARTICLE = re.compile(
    r"(?:第|(?<=法))\s*([0-9]+|[一二三四五六七八九十百千〇]+)\s*条(?:の\s*([0-9]+|[一二三四五六七八九十]+))?"
)


def cited_articles(part: Part) -> list[str]:
    """The articles a question cites, as labels (「第40条」, 「第291条の2」)."""
    return _articles(part)


_ARTICLE_EN = re.compile(r"\barticle\s+(\d+)(?:-(\d+))?\b", re.I)


def _articles(part: Part) -> list[str]:
    """The articles a question cites, as labels (「第40条」, 「第291条の2」, "Article 291-2")."""
    out = [
        f"第{m.group(1)}条" + (f"の{m.group(2)}" if m.group(2) else "")
        for m in _ARTICLE_EN.finditer(part.text)
    ]
    for m in _ARTICLE.finditer(nfkc(part.text)):
        label = f"第{normalize_numbers(m.group(1))}条"
        if m.group(2):
            label += f"の{normalize_numbers(m.group(2))}"
        out.append(label)
    return out


def _abbreviates(name: str, passages: list[Passage], texts: Iterable[str] = ()) -> bool:
    """「学研」 for 関西文化学術研究都市, 「新関空会社」 for 新関西国際空港株式会社, 「大阪湾」 aside: a
    short kanji name whose characters occur in order, close together, in a title, heading or
    text of the passages found (or in ``texts``, their documents' other chunks) is their
    abbreviation."""
    if not 2 <= len(name) <= 6 or not re.fullmatch(r"[\u3400-\u9fff]+", name):
        return False
    pattern = re.compile(".{0,3}".join(re.escape(c) for c in name))
    own = (t for p in passages for t in (p.title, p.section.split(" > ")[-1], p.text))
    for text in itertools.chain(own, texts):
        m = pattern.search(nfkc(text))
        if m and m.group() != name:
            return True
    return False


def _answers_itself(part: Part, ev: Evidence) -> bool:
    """A part whose own shape is answered even though its needs are not (「…の予算と、申請の
    締切」 keeps its budget; 「局長は誰？」 has nothing left once the person is missing)."""
    return (
        part.asks in (Asks.list, Asks.definition) and ev.shape in (Shape.list, Shape.definition)
    ) or (part.asks in (Asks.amount, Asks.how_many) and ev.shape is Shape.figure)


def _subject_words(part: Part) -> list[str]:
    """The words of a Japanese subject that name it (two or more characters, not soft cues)."""
    if part.lang != "ja":
        return []
    return [t for t in part.subject if t not in part.soft and len(t) > 1]


def _holding(ev: Evidence) -> list[Passage]:
    """The passages the answer would quote (a need is met where the answer is, not in another
    law that retrieval also brought: 「関西パビリオンの参加手続きは？」 is not answered by a
    statute's 「許可を得て」); all passages when no line was chosen."""
    lines = [*ev.lines, *([ev.anchor] if ev.anchor is not None else [])]
    held = sorted({ln.passage for ln in lines if 1 <= ln.passage <= len(ev.passages)})
    return [ev.passages[i - 1] for i in held] or ev.passages


def _text(ps: list[Passage]) -> str:
    return nfkc("\n".join(f"{p.section}\n{p.text}" for p in ps))


def _era(year: str, lang: str) -> str:
    y = int(year) if year.isdigit() else 0
    if lang == "ja" and y >= 2019:
        return f"令和{y - 2018}年度"
    return year


def _dedupe(ps: list[Passage]) -> list[Passage]:
    seen: set[str] = set()
    out = []
    for p in ps:
        if p.id not in seen:
            seen.add(p.id)
            out.append(p)
    return out[:3]
