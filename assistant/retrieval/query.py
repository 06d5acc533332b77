"""Query-side terms for the lexical fields: a question's own wording is not evidence.

A question's particles, auxiliaries and question words (何, どこ, いつ, 誰, どのような, 教えて
ください …) say what is asked, not what to find; as character bigrams they even add rare pairs
(「すか」「何で」) that pull in unrelated passages. ``content`` mode drops them before the
lexical fields look the question up; ``all`` keeps the tokenizer's output as it is. Which is
used is a setting chosen by measurement (README, retrieval benchmark).
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from assistant.text.normalize import search_form
from assistant.text.tokenizer import SudachiTokenizer, Tokenizer

QueryTerms = Literal["all", "content"]

# normalized forms (Sudachi) of words that only ask
QUESTION_WORDS = frozenset(
    {
        "何",
        "どこ",
        "何処",
        "いつ",
        "何時",
        "誰",
        "どれ",
        "何れ",
        "どの",
        "どう",
        "如何",
        "どんな",
        "何故",
        "幾つ",
        "幾ら",
        "どちら",
        "どなた",
        "どのような",
        "どういう",
        "教える",
        "下さる",
        "知る",
        "頂く",
        "願う",
    }
)
_DROP_POS = frozenset({"助詞", "助動詞", "補助記号", "空白", "記号"})


def sudachi_terms(query: str, tok: Tokenizer, mode: QueryTerms) -> list[str]:
    terms = tok.tokenize(query)
    if mode == "all":
        return terms
    kept = [t for t in terms if t not in QUESTION_WORDS]
    return kept or terms


def content_segments(query: str, sudachi: SudachiTokenizer) -> list[str]:
    """The question's search form cut at particles, auxiliaries, symbols and question words."""
    text = search_form(query, sudachi.spans)
    segments: list[str] = []
    current: list[str] = []
    for surface, norm, pos in sudachi.morphemes(text):
        if pos in _DROP_POS or norm in QUESTION_WORDS:
            if current:
                segments.append("".join(current))
                current = []
            continue
        current.append(surface)
    if current:
        segments.append("".join(current))
    return segments


def bigram_terms(query: str, sudachi: SudachiTokenizer | None, mode: QueryTerms) -> list[str]:
    """Character bigrams of the question (of its content segments in ``content`` mode)."""
    parts = (
        [search_form(query)]
        if mode == "all" or sudachi is None
        else content_segments(query, sudachi)
    )
    out: list[str] = []
    for part in parts:
        chars = [c for c in part.lower() if not c.isspace() and unicodedata.category(c)[0] in "LN"]
        if len(chars) == 1:
            out.append(chars[0])
        out.extend(chars[i] + chars[i + 1] for i in range(len(chars) - 1))
    if not out and mode == "content":
        return bigram_terms(query, sudachi, "all")
    return out
