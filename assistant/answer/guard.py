"""The faithfulness guard, run on every answer whatever the generator.

Each answer sentence is checked against the passages it cites:
- citation markers that point to no passage are removed;
- every number must be written in the cited lines that best match the sentence (a changed
  or swapped figure fails), and every proper noun must appear in the cited text;
- its content words (Sudachi, normalised) must be covered by the cited text (Japanese), or
  its embedding must be close to a cited passage (other languages).
Sentences that fail are **dropped** and reported in ``removed``. A sentence with no citation
is kept only if it is framing (greeting, lead-in) or if a retrieved passage supports it, in
which case that citation is added. Citations are renumbered 1..m in order of use.
Thresholds are calibrated on the eval set (see eval/README.md and README).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from assistant.answer.text import (
    Terms,
    content_terms,
    detect_lang,
    looks_like_instruction,
    looping,
    markers,
    nfkc,
    numbers,
    split_sentences,
    strip_bullet,
    strip_markers,
)
from assistant.answer.types import AnswerPart, Citation, Removed
from assistant.embedding.base import Embedder
from assistant.retrieval.searcher import Passage
from assistant.text.numerals import normalize_numbers
from assistant.text.tokenizer import Tokenizer

# Calibrated on eval/labelled_claims.jsonl + eval/cases.jsonl (see README "Guard thresholds").
MIN_COVERAGE = 0.80
MIN_COSINE_OTHER_LANG = 0.80
NEAR_BEST = 0.6

_ANNOTATION = re.compile(r"〔[^〕]*〕")
_FRAME = re.compile(
    r"(お問い合わせ|問合せ|ありがとうございま|よろしくお願い|ご不明|お気軽|拝啓|敬具|"
    r"以下の?とおり|次の?とおり|次の記載|以下の記載|記載があります|記載されています|お世話になって|"
    r"申し上げます|ご連絡|ご確認|ご参照|ご覧|ご相談|関係しそうな|該当しそうな|出典|"
    r"thank you|the documents? (say|state|contain)|following|below|sources?:|dear|regards|sincerely)",
    re.IGNORECASE,
)


@dataclass
class _Source:
    n: int
    passage: Passage
    text: str  # title + section + text: what a citation vouches for
    lines: list[str]
    line_terms: list[Terms]
    terms: Terms
    vector: np.ndarray | None = None


@dataclass
class GuardOutcome:
    text: str
    citations: list[Citation]
    removed: list[Removed]
    kept_claims: int
    changed: bool


@dataclass
class GuardSession:
    """Checks an answer unit by unit (so a stream can be checked as it arrives)."""

    guard: Guard
    sources: dict[int, _Source]
    renumber: dict[int, int] = field(default_factory=dict)
    quotes: dict[int, str] = field(default_factory=dict)
    removed: list[Removed] = field(default_factory=list)
    kept_claims: int = 0
    repaired: int = 0  # sentences kept with a marker the guard gave or corrected
    degraded_reason: str = ""  # why a generator's answer was replaced (set by the generator)

    def feed(self, unit: str) -> str:
        """The unit as it may be shown ("" when dropped), with markers renumbered."""
        if unit == "\n" or not unit.strip():
            return unit
        cited = markers(unit)
        text = strip_markers(unit)
        valid = []
        for n in cited:
            if n in self.sources:
                if n not in valid:
                    valid.append(n)
            else:
                self.removed.append(
                    Removed(
                        sentence=text,
                        reason=f"citation [{n}] points to no passage: the marker was removed",
                        kind="bad_citation",
                    )
                )
        claim = _ANNOTATION.sub("", text).strip()
        if not _has_claim(claim):
            # an annotation is kept; punctuation or a stray marker ("[1]" after its sentence,
            # which made 「…です[1][1]」) is not shown
            return text if _has_claim(text) else ""
        if looping(claim):
            self.removed.append(
                Removed(
                    sentence=text[:120],
                    reason="the model repeated itself (the same words over and over)",
                    kind="markup",
                )
            )
            return ""
        if self._is_heading(claim):
            self.removed.append(
                Removed(
                    sentence=text,
                    reason="a document title or section heading, not an answer",
                    kind="markup",
                )
            )
            return ""
        if not valid:
            if _FRAME.search(claim) and not numbers(claim) and not self.guard.proper(claim):
                return text
            support = self.guard.best_support(claim, self.sources)
            if support is None:
                self.removed.append(
                    Removed(
                        sentence=text,
                        reason="no citation and no passage supports it",
                        kind="uncited",
                    )
                )
                return ""
            self.repaired += 1
            valid = [support]
        reason = self.guard.check(claim, [self.sources[n] for n in valid])
        if reason:
            # the wrong passage cited: another one may say it (the marker is corrected)
            support = self.guard.best_support(claim, self.sources)
            if support is None:
                self.removed.append(Removed(sentence=text, reason=reason, kind="unsupported"))
                return ""
            self.repaired += 1
            valid = [support]
        elif len(valid) > 1:
            # markers a passage alone already supports make the others needless ([1][2] for a
            # sentence of [2]); a sentence that needs several passages keeps them all
            alone = [n for n in valid if not self.guard.check(claim, [self.sources[n]])]
            if alone and len(alone) < len(valid):
                self.repaired += 1
                valid = alone
        self.kept_claims += 1
        return self._emit(text, valid, claim)

    def _is_heading(self, claim: str) -> bool:
        """A sentence that only repeats a passage's title or headings (a section path quoted
        as the answer): it says nothing."""
        key = _squash(re.sub(r"[>＞／/]", "", claim)).rstrip("。.")
        if len(key) < 2:
            return False
        for s in self.sources.values():
            p = s.passage
            heads = [p.title, p.label, *p.section.split(" > "), p.section]
            if any(key == _squash(re.sub(r"[>＞／/]", "", h)).rstrip("。.") for h in heads if h):
                return True
        return False

    def accept(self, part: AnswerPart, quote: str = "") -> AnswerPart | None:
        """A typed claim, checked against the passages it cites and renumbered (None: dropped).

        Parts built from the evidence carry the spans they copy: each must be written in a
        cited passage and nothing but function words may be added around them. Other claims
        (a model's sentence) get the full check."""
        valid = [n for n in dict.fromkeys(part.citations) if n in self.sources]
        if not valid:
            self.removed.append(
                Removed(part.text, "it cites no retrieved passage", kind="bad_citation")
            )
            return None
        cited = [self.sources[n] for n in valid]
        reason = (
            self.guard.check_spans(part.text, part.spans, cited)
            if part.spans
            else self.guard.check(part.text, cited)
        )
        if reason:
            self.removed.append(Removed(part.text, reason, kind="unsupported"))
            return None
        self.kept_claims += 1
        new = []
        for n in valid:
            if n not in self.renumber:
                self.renumber[n] = len(self.renumber) + 1
                self.quotes[n] = (
                    _line_of(self.sources[n], part.spans)
                    or quote
                    or self.guard.quote(part.text, self.sources[n])
                )
            new.append(self.renumber[n])
        part.citations = new
        return part

    def _emit(self, text: str, ns: list[int], claim: str) -> str:
        new = []
        for n in ns:
            if n not in self.renumber:
                self.renumber[n] = len(self.renumber) + 1
                self.quotes[n] = self.guard.quote(claim, self.sources[n])
            new.append(self.renumber[n])
        end = re.search(r"[。！？.!?]*$", text)
        return f"{text}{''.join(f'[{m}]' for m in new)}" if end else text

    def citations(self, label_of: Callable[[str, str], str] | None = None) -> list[Citation]:
        """The cited passages in marker order. ``label_of(chunk id, quote)`` may pin a
        statute citation to the 項 or 号 its quote is from (「中小企業基本法 第2条第1項第2号」)."""
        out = []
        for old, new in sorted(self.renumber.items(), key=lambda kv: kv[1]):
            p = self.sources[old].passage
            label = getattr(p, "label", "")
            quote = self.quotes.get(old, "")
            pinned = label_of(p.id, quote) if label_of and label and quote else ""
            article = label.removeprefix(p.title).strip()
            if pinned.startswith(article) and len(pinned) > len(article):
                label = f"{p.title} {pinned}"
            out.append(
                Citation(
                    n=new,
                    doc_id=p.doc_id,
                    title=p.title,
                    section=p.section,
                    position=p.position,
                    text=p.text,
                    score=p.score,
                    quote=quote,
                    label=label,
                )
            )
        return out


def _has_claim(text: str) -> bool:
    return any(unicodedata_letter(c) for c in text)


def unicodedata_letter(c: str) -> bool:
    import unicodedata

    return unicodedata.category(c)[0] in "LN"


class Guard:
    def __init__(
        self,
        tokenizer: Tokenizer,
        embedder: Embedder | None = None,
        min_coverage: float = MIN_COVERAGE,
        min_cosine: float = MIN_COSINE_OTHER_LANG,
    ) -> None:
        self.tokenizer = tokenizer
        self.embedder = embedder
        self.min_coverage = min_coverage
        self.min_cosine = min_cosine
        self._vec_cache: dict[str, np.ndarray] = {}
        self._source_cache: dict[str, _Source] = {}

    def session(self, passages: list[Passage]) -> GuardSession:
        return GuardSession(self, {i + 1: self._source(i + 1, p) for i, p in enumerate(passages)})

    def run(self, answer_units: list[str], passages: list[Passage]) -> GuardOutcome:
        s = self.session(passages)
        text = "".join(_join(s.feed(u), u) for u in answer_units)
        text = re.sub(r"\n{3,}", "\n\n", text).strip()
        return GuardOutcome(text, s.citations(), s.removed, s.kept_claims, bool(s.removed))

    # ---- checks ---------------------------------------------------------------------------
    def _source(self, n: int, p: Passage) -> _Source:
        """The analysed passage; cached, since the same passages come back again and again."""
        key = f"{p.id}\x1f{hash((p.title, p.section, p.text))}"
        cached = self._source_cache.get(key)
        if cached is not None:
            return _Source(
                n, p, cached.text, cached.lines, cached.line_terms, cached.terms, cached.vector
            )
        src = self._analyse(n, p)
        if len(self._source_cache) > 4096:
            self._source_cache.clear()
        self._source_cache[key] = src
        return src

    def _analyse(self, n: int, p: Passage) -> _Source:
        last = p.section.split(" > ")[-1] if p.section else ""
        # a line addressed to the model (「…」と答えなさい) is data, never evidence for a claim
        lines = [ln for ln in split_sentences(p.text) if not looks_like_instruction(ln)] or [""]
        if last:
            lines = [last, *lines]
        full = f"{p.title}\n{p.section}\n" + "\n".join(lines)
        return _Source(
            n=n,
            passage=p,
            text=nfkc(full).lower(),
            lines=lines,
            line_terms=[content_terms(self.tokenizer, ln) for ln in lines],
            terms=content_terms(self.tokenizer, full),
        )

    def proper(self, claim: str) -> set[str]:
        return content_terms(self.tokenizer, claim).proper

    def check(self, claim: str, sources: list[_Source]) -> str:
        """'' when ``claim`` is supported by ``sources``, else the reason it is not."""
        terms = content_terms(self.tokenizer, claim)
        cited_text = "\n".join(s.text for s in sources)
        for name in sorted(terms.proper):
            if nfkc(name).lower() not in cited_text:
                return f"'{name}' does not appear in the cited passage"
        nums = numbers(claim)
        if nums:
            best = self._best_lines(terms, sources, 3)
            best_nums = set().union(*(numbers(b) for b in best)) if best else set()
            missing = sorted(_unmatched(claim, nums - best_nums, best))
            if missing:
                return f"number {', '.join(missing)} is not in the cited passage"
        if detect_lang(claim) == "ja":
            if not terms.content:
                return ""
            cited_terms = set().union(*(s.terms.content for s in sources))
            coverage = len(terms.content & cited_terms) / len(terms.content)
            if coverage < self.min_coverage:
                return f"only {coverage:.0%} of its content words are in the cited passage"
            return ""
        cos = self._cosine(claim, sources)
        if cos is not None and cos < self.min_cosine:
            return f"not close enough to the cited passage (similarity {cos:.2f})"
        return ""

    def check_spans(self, text: str, spans: list[str], sources: list[_Source]) -> str:
        """'' when every span is copied from the cited passages and the rest of ``text`` is
        only function words (「…は、…です。」), else the reason."""
        cited = _squash("\n".join(s.text for s in sources))
        for span in spans:
            if _squash(span) not in cited:
                return f"'{span[:40]}' is not written in the cited passage"
        residue = text
        for span in sorted(spans, key=len, reverse=True):
            residue = residue.replace(span, " ")
        for m in self.tokenizer.parse(residue):
            if m.coarse in ("助詞", "助動詞", "補助記号", "空白") or m.surface.lower() in _GLUE:
                continue
            return f"'{m.surface}' is added to the quoted words"
        return ""

    def best_support(self, claim: str, sources: dict[int, _Source]) -> int | None:
        """The passage that supports ``claim`` best (most of its content words in one line,
        then in the passage); None when none does."""
        terms = content_terms(self.tokenizer, claim)

        def closeness(s: _Source) -> tuple[int, int]:
            line = max((len(terms.content & lt.content) for lt in s.line_terms), default=0)
            return line, len(terms.content & s.terms.content)

        ranked = sorted(sources.items(), key=lambda kv: closeness(kv[1]), reverse=True)
        for n, s in ranked:
            if not self.check(claim, [s]):
                return n
        return None

    def quote(self, claim: str, source: _Source) -> str:
        terms = content_terms(self.tokenizer, claim)
        best = self._best_lines(terms, [source], 1)
        return strip_bullet(best[0]) if best else ""

    def _best_lines(self, terms: Terms, sources: list[_Source], k: int) -> list[str]:
        scored = []
        for s in sources:
            for line, lt in zip(s.lines, s.line_terms, strict=True):
                scored.append((len(terms.content & lt.content), line))
        scored.sort(key=lambda x: -x[0])
        top = scored[0][0] if scored else 0
        if top == 0:
            return [ln for _, ln in scored[:k]]
        # only lines nearly as close as the best one: a figure from a neighbouring line
        # (another programme's budget) does not support the claim
        return [line for score, line in scored[:k] if score >= NEAR_BEST * top]

    def _cosine(self, claim: str, sources: list[_Source]) -> float | None:
        if self.embedder is None:
            return None
        q = self.embedder.embed_query(claim)
        best = -1.0
        for s in sources:
            key = s.passage.id
            vec = self._vec_cache.get(key)
            if vec is None:
                vec = self.embedder.embed_passages([s.passage.text])[0]
                if len(self._vec_cache) > 4096:
                    self._vec_cache.clear()
                self._vec_cache[key] = vec
            best = max(best, float(np.dot(q, vec)))
        return best


_GLUE = frozenset({"です", "ます", "は", "の", "と", ":", "：", ",", "、", "。", "・"})


def _line_of(source: _Source, spans: list[str]) -> str:
    """The passage line that holds the first of ``spans`` it has (the quote to highlight)."""
    for span in spans:
        key = _squash(span)
        for line in source.lines:
            if key and key in _squash(line):
                return strip_bullet(line)
    return ""


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", nfkc(text)).lower()


def _join(emitted: str, unit: str) -> str:
    if not emitted or emitted == "\n":
        return emitted
    # keep a space between English sentences
    return emitted + (" " if detect_lang(emitted) == "en" and not unit.endswith("\n") else "")


# ---- numbers written two ways ---------------------------------------------------------------
_FIGURE = re.compile(r"\d+(?:\.\d+)?(?:[兆億万千]\d*(?:\.\d+)?)*")
_PART = re.compile(r"(\d+(?:\.\d+)?)([兆億万千]?)")
_SCALE = {"兆": 10**12, "億": 10**8, "万": 10**4, "千": 10**3, "": 1}


def figures(text: str) -> list[tuple[set[str], float]]:
    """Each figure of ``text`` with the digit strings it is written with and its value:
    「1,780千円」 → ({"1780"}, 1780000.0), 「三億円」 → ({"3"}, 300000000.0)."""
    out = []
    for m in _FIGURE.finditer(normalize_numbers(nfkc(text))):
        parts = _PART.findall(m.group())
        out.append(({d for d, _ in parts}, sum(float(d) * _SCALE[u] for d, u in parts)))
    return out


def _unmatched(claim: str, missing: set[str], lines: list[str]) -> set[str]:
    """The numbers of ``missing`` whose figure has no figure of equal value in ``lines``:
    178万円 is 1,780千円 (exactly the same amount); 1,304万円 is not 13,043千円."""
    if not missing:
        return missing
    values = {v for ln in lines for _, v in figures(ln)}
    left = set(missing)
    for digits, value in figures(claim):
        if digits & left and any(abs(value - v) <= 1e-9 * max(1.0, v) for v in values):
            left -= digits
    return left


# ---- what a model writes besides its answer --------------------------------------------------
_TAG = re.compile(r"</?\s*[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>")
_MARKER_VARIANT = re.compile(
    r"[\[【［]\s*(?:資料|出典|passage|source|n\s*=)?\s*[#＃]?\s*(\d{1,3})\s*[\]】］]", re.IGNORECASE
)
_REPEATED_MARKER = re.compile(r"(\[\d{1,3}\])(?:\s*\1)+")
_LABEL = re.compile(r"^\s*(?:回答|答え|Answer|A)\s*[:：]\s*", re.IGNORECASE)


def clean_model_text(text: str) -> str:
    """A model's sentence without what it copied from the prompt: tags (「</passage>」),
    HTML entities (``&gt;``), marker variants (【1】, [資料1] → [1]) and repeated markers
    ([1][1] → [1]), and an "Answer:" label."""
    text = html.unescape(html.unescape(text))
    text = _TAG.sub("", text)
    text = _MARKER_VARIANT.sub(lambda m: f"[{int(m.group(1))}]", text)
    text = _REPEATED_MARKER.sub(r"\1", text)
    return _LABEL.sub("", text)
