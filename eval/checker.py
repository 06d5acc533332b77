"""The offline claim checker: is an answer sentence supported by the passages it cites?

Independent of the product guard (``assistant/answer/guard.py``) and stricter, so that
faithfulness is measured, not true by construction. It reuses only the text helpers.

- A **claim** is every answer sentence except framing (greetings, lead-ins, the sources list,
  the support-mode disclaimer); the support-mode annotation 〔…〕 is our matching reason, not a
  claim about the document, and is removed first. An uncited non-framing sentence is a claim
  with no support.
- **Proper nouns** (Sudachi proper nouns, long katakana words, acronyms) must be written in
  the cited text.
- **Numbers are anchored**: the claim is cut into clauses (、 , ; …) and every number of a
  clause must be written in the cited line(s) that best match that clause (most shared
  content words; for English the highest embedding similarity). A budget moved to another
  programme or ① written for ② fails even though the number is somewhere in the passage.
- **Japanese**: every clause with ≥ 2 content words must have at least ``min_recall`` of them
  in the best-matching lines (an added claim fails), and a negation must match the best line.
- **Other languages**: the claim must be close (cosine ≥ ``min_cosine``) to one cited line
  or passage (multilingual e5).
The thresholds are calibrated on ``eval/labelled_claims.jsonl`` (``python -m eval.calibrate``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer.text import (
    content_terms,
    detect_lang,
    markers,
    nfkc,
    numbers,
    proper_nouns,
    split_answer,
    split_sentences,
    strip_bullet,
    strip_markers,
)
from assistant.embedding.base import Embedder
from assistant.errors import UpstreamModelError
from assistant.llm.chat_model import ChatModel
from assistant.text.tokenizer import SudachiTokenizer, Tokenizer

MIN_RECALL = 0.8
MIN_COSINE = 0.86
TOP_LINES = 4
HEADING = 20  # characters: a shorter line is a heading or a table cell

_ANNOTATION = re.compile(r"〔[^〕]*〕")
_CLAUSE_JA = re.compile(r"[、，;；]")
_CLAUSE_EN = re.compile(r";|,\s+(?:and|while|of which|with|which)\s+|\s+and\s+|,\s+(?=\D)")
_FRAMING = re.compile(
    r"(次の記載があります|以下の記載|次のとおり|以下のとおり|お問い合わせ|ありがとうございま|"
    r"よろしくお願い|ご不明な点|お気軽に|申し訳ありません|ご確認ください|^【出典】|^出典|"
    r"the documents say|quoted from|following|^sources:|^note:|thank you|regards)",
    re.IGNORECASE,
)
_SOURCE_LINE = re.compile(r"^\s*\[\d+\]\s")
_NEGATION_JA = re.compile(r"(ない|ません|ず[、。に]|ぬ|なかった|せず|不可能|無し|なし)")
_NEGATION_EN = re.compile(r"\b(not|no|never|none|neither|nor|without)\b|n't", re.IGNORECASE)
_FISCAL_YEAR = re.compile(r"\bFY\s?(?=\d)\d{2,4}\b")  # 令和5年度 is written in Japanese
_GENERIC_ACRONYM = re.compile(r"^(FY\d*|JPY|USD|YEN)$", re.IGNORECASE)


@dataclass
class Verdict:
    supported: bool
    reason: str = ""


@dataclass
class _Line:
    text: str
    terms: set[str]
    nums: set[str]


class ClaimChecker:
    def __init__(
        self,
        tokenizer: Tokenizer,
        embedder: Embedder | None = None,
        min_recall: float = MIN_RECALL,
        min_cosine: float = MIN_COSINE,
        top_lines: int = TOP_LINES,
    ) -> None:
        self.tokenizer = tokenizer
        self.embedder = embedder
        self.min_recall = min_recall
        self.min_cosine = min_cosine
        self.top_lines = top_lines
        self._lines: dict[str, list[_Line]] = {}
        self._vecs: dict[str, np.ndarray] = {}

    # ---- claims of an answer --------------------------------------------------------------
    def claims(self, answer: str) -> list[tuple[str, list[int]]]:
        """(sentence, cited numbers) for every claim of ``answer``."""
        out: list[tuple[str, list[int]]] = []
        for line in answer.splitlines():
            if _SOURCE_LINE.match(line) or line.strip().startswith("※"):
                continue
            for unit in split_answer(_ANNOTATION.sub("", line)):
                cited = markers(unit)
                sentence = strip_bullet(strip_markers(unit)).strip()
                if not any(c.isalnum() for c in sentence):
                    continue
                if not cited and _FRAMING.search(sentence):
                    continue
                out.append((sentence, cited))
        return out

    # ---- one claim --------------------------------------------------------------------------
    def check_spans(self, claim: str, spans: Sequence[str], passages: Sequence[str]) -> Verdict:
        """A sentence built from copied spans: each span must be written in a cited passage,
        and only particles, copulas and punctuation may join them."""
        cited = _squash(nfkc("\n".join(passages)).lower())
        for span in spans:
            if _squash(nfkc(span).lower()) not in cited:
                return Verdict(False, f"'{span[:30]}' is not in the cited text")
        rest = nfkc(claim)
        for span in sorted(spans, key=len, reverse=True):
            rest = rest.replace(nfkc(span), " ")
        extra = [w for w in re.findall(r"[^\s、。,.:：・]+", rest) if w not in _JOINERS]
        if extra:
            return Verdict(False, f"words added to the quoted spans: {' '.join(extra)[:40]}")
        return Verdict(True, "built from spans of the cited text")

    def check(self, claim: str, passages: Sequence[str]) -> Verdict:
        claim = _FISCAL_YEAR.sub("", nfkc(strip_markers(claim))).strip()
        if not passages:
            return Verdict(False, "no cited passage")
        lines = [ln for p in passages for ln in self._passage_lines(p)]
        cited = nfkc("\n".join(passages)).lower()
        if len(claim) >= 8 and _squash(claim) in _squash(cited):
            return Verdict(True, "quoted verbatim from a cited passage")
        lang = detect_lang(claim)
        for name in sorted(self._proper(claim, lang)):
            if nfkc(name).lower() not in cited:
                return Verdict(False, f"'{name}' is not in the cited text")
        if lang == "ja":
            return self._check_ja(claim, lines)
        return self._check_other(claim, lines, passages)

    def _check_ja(self, claim: str, lines: list[_Line]) -> Verdict:
        for clause in _clauses(claim, _CLAUSE_JA):
            nums = numbers(clause)
            if not nums:
                continue
            terms = self._terms(clause) or self._terms(claim)
            best = _best(lines, terms)
            have = set().union(*(ln.nums for ln in best))
            missing = sorted(nums - have)
            if missing:
                return Verdict(False, f"number {', '.join(missing)} is not in the matching line")
        terms = self._terms(claim)
        ranked = sorted(lines, key=lambda ln: -len(terms & ln.terms))
        top = ranked[: self.top_lines]
        # headings and table cells give context to every line below them
        context: set[str] = set().union(*(ln.terms for ln in lines if len(ln.text) < HEADING))
        support = context.union(*(ln.terms for ln in top))
        for clause in _clauses(claim, _CLAUSE_JA):
            ct = self._terms(clause)
            if len(ct) < 3:
                continue
            near = context.union(*(ln.terms for ln in _best(lines, ct)))
            recall = len(ct & near) / len(ct)
            if recall < self.min_recall:
                return Verdict(False, f"only {recall:.0%} of '{clause}' is in its best line")
        if terms and len(terms & support) / len(terms) < self.min_recall:
            return Verdict(False, "too few of its content words are in the cited lines")
        if top and bool(_NEGATION_JA.search(claim)) != any(
            _NEGATION_JA.search(ln.text) for ln in top[:1]
        ):
            return Verdict(False, "negation differs from the cited line")
        return Verdict(True)

    def _check_other(self, claim: str, lines: list[_Line], passages: Sequence[str]) -> Verdict:
        if self.embedder is None:
            return Verdict(True, "not checked: no embedder")
        q = self._query_vec(claim)
        line_cos = [float(np.dot(q, self._vec(ln.text))) for ln in lines]
        for clause in _clauses(claim, _CLAUSE_EN):
            nums = numbers(clause)
            if not nums:
                continue
            cq = self._query_vec(clause) if clause != claim else q
            cos = [float(np.dot(cq, self._vec(ln.text))) for ln in lines]
            top = max(cos)
            have = set().union(
                *(ln.nums for ln, c in zip(lines, cos, strict=True) if c >= top - 0.01)
            )
            missing = sorted(nums - have)
            if missing:
                return Verdict(False, f"number {', '.join(missing)} is not in the matching line")
        best = max(line_cos + [float(np.dot(q, self._vec(p))) for p in passages])
        if best < self.min_cosine:
            return Verdict(False, f"not close to the cited text (similarity {best:.2f})")
        if _NEGATION_EN.search(claim):
            return Verdict(False, "a negated English claim cannot be checked against the text")
        return Verdict(True)

    # ---- helpers ----------------------------------------------------------------------------
    def _proper(self, claim: str, lang: str) -> set[str]:
        if not isinstance(self.tokenizer, SudachiTokenizer):
            return set()
        found = proper_nouns(self.tokenizer, claim)
        if lang != "ja":  # English names (Kansai, Osaka) are written in Japanese in the source
            found = {w for w in found if w.isascii() and sum(c.isupper() for c in w) >= 2}
        return {w for w in found if not _GENERIC_ACRONYM.match(w)}

    def _terms(self, text: str) -> set[str]:
        return content_terms(self.tokenizer, text).content

    def _passage_lines(self, passage: str) -> list[_Line]:
        got = self._lines.get(passage)
        if got is None:
            texts: list[str] = []
            for raw in passage.splitlines():
                texts.extend(part for part in raw.split(" > ") if part.strip())
            sents = _merge_short(split_sentences("\n".join(texts)) or [passage])
            got = [_Line(s, self._terms(s), numbers(s)) for s in sents]
            if len(self._lines) > 2048:
                self._lines.clear()
            self._lines[passage] = got
        return got

    def _vec(self, text: str) -> np.ndarray:
        assert self.embedder is not None
        v = self._vecs.get(text)
        if v is None:
            v = self.embedder.embed_passages([text])[0]
            self._vecs[text] = v
        return v

    def _query_vec(self, text: str) -> np.ndarray:
        assert self.embedder is not None
        return self.embedder.embed_query(text)


# what a presenter may put between copied spans: particles and the copula, never content
_JOINERS = frozenset({"は", "です", "の", "と", "が", "も", "で"})


def _squash(text: str) -> str:
    """Lower-case NFKC text without whitespace or bullets, for verbatim comparison."""
    return re.sub(r"[\s・]+", "", nfkc(text).lower())


def _clauses(text: str, pattern: re.Pattern[str]) -> list[str]:
    parts = [p.strip() for p in pattern.split(text) if p and p.strip()]
    return parts or [text]


def _merge_short(lines: list[str], short: int = 12) -> list[str]:
    """Join runs of table-cell fragments (「関西チャレンジ①」「強みで貢献」) into one line."""
    out: list[str] = []
    run: list[str] = []
    for ln in lines:
        if len(ln) < short:
            run.append(ln)
            continue
        if run:
            out.append(" ".join(run))
            run = []
        out.append(ln)
    if run:
        out.append(" ".join(run))
    return out


def _best(lines: list[_Line], terms: set[str]) -> list[_Line]:
    """The lines sharing the most content words with ``terms`` (ties kept)."""
    if not lines:
        return []
    scores = [len(terms & ln.terms) for ln in lines]
    top = max(scores)
    if top == 0:
        return lines
    return [ln for ln, s in zip(lines, scores, strict=True) if s == top]


JUDGE_PROMPT = (
    "You check answers against source passages. Reply with one word: YES if every statement "
    "in the CLAIM (every number, name and relation) is supported by the PASSAGES, otherwise NO."
)


class LLMJudge:
    """A second opinion from any OpenAI-compatible chat model (``--judge-llm``)."""

    def __init__(self, chat_model: ChatModel) -> None:
        self.chat_model = chat_model

    def check(self, claim: str, passages: Sequence[str]) -> bool | None:
        body = "PASSAGES:\n" + "\n---\n".join(passages) + f"\n\nCLAIM:\n{claim}\n\nYES or NO?"
        try:
            reply = self.chat_model.complete(
                [{"role": "system", "content": JUDGE_PROMPT}, {"role": "user", "content": body}]
            )
        except UpstreamModelError:
            return None
        word = reply.strip().upper()
        if word.startswith(("YES", "はい")):
            return True
        if word.startswith(("NO", "いいえ")):
            return False
        return None
