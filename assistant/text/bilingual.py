"""English questions over Japanese documents: the Japanese words to look for.

The documents are Japanese, so an English question shares almost no words with them: BM25
and the extractive answerer's word overlap see only stray matches (the cover's "UNION OF
KANSAI GOVERNMENTS"). :class:`Glossary` turns an English question into Japanese search terms
with a small bilingual word list (``data/en_ja.tsv``: lemma → terms, phrases first) and
converts years to the Japanese fiscal-era form the documents use (FY2023 → 令和5年度).
English words it does not know are kept (the documents use DX, MaaS, IMD…); function words
are dropped. The dense retriever still gets the question itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GLOSSARY_FILE = Path(__file__).resolve().parent / "data" / "en_ja.tsv"

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9&\-]*(?:'[A-Za-z]+)?|\d[\d,.]*")
_YEAR = re.compile(r"^(?:fy)?((?:19|20)\d\d)$", re.IGNORECASE)
REIWA_START = 2019  # 令和元年
HEISEI_START = 1989  # 平成元年

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "else",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "like",
        "may",
        "me",
        "might",
        "more",
        "most",
        "much",
        "must",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "per",
        "please",
        "same",
        "shall",
        "she",
        "should",
        "so",
        "some",
        "such",
        "tell",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "very",
        "was",
        "way",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "within",
        "would",
        "yes",
        "you",
        "your",
        "yours",
        "e",
        "g",
        "eg",
        "ie",
        "etc",
        "say",
        "says",
        "said",
        "according",
        "mentioned",
        "cited",
        "document",
        "documents",
    ]
)


def _has_letters(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def lemma(word: str) -> str:
    """Lower-case singular form by simple rules: companies → company, values → value."""
    w = word.lower()
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("ches", "shes", "sses", "xes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is", "ics")):
        return w[:-1]
    return w


def _verb_stems(lem: str) -> list[str]:
    out = [lem]
    for suffix in ("ing", "ed"):
        if len(lem) > len(suffix) + 2 and lem.endswith(suffix):
            stem = lem[: -len(suffix)]
            out += [stem, stem + "e"]
            if len(stem) > 2 and stem[-1] == stem[-2]:  # planned → plan
                out.append(stem[:-1])
    return out


def era_year(year: int) -> list[str]:
    """2023 → ['2023年度', '令和5年度', '2023年']: how Japanese documents write a fiscal year."""
    out = [f"{year}年度"]
    if year >= REIWA_START:
        out.append(f"令和{year - REIWA_START + 1}年度" if year > REIWA_START else "令和元年度")
    elif year >= HEISEI_START:
        out.append(f"平成{year - HEISEI_START + 1}年度")
    out.append(f"{year}年")
    return out


@dataclass(frozen=True)
class Glossary:
    entries: dict[str, tuple[str, ...]]
    longest: int

    @classmethod
    def load(cls, path: Path = GLOSSARY_FILE) -> Glossary:
        entries: dict[str, tuple[str, ...]] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            en, _, ja = line.partition("\t")
            key = " ".join(lemma(w) for w in en.replace("-", " ").split())
            if key and ja.split():
                entries[key] = tuple(dict.fromkeys((*entries.get(key, ()), *ja.split())))
        longest = max((k.count(" ") + 1 for k in entries), default=1)
        return cls(entries, longest)

    def terms(self, text: str) -> list[str]:
        """Japanese terms (and kept English words) for the English words of ``text``."""
        return list(dict.fromkeys(t for g in self.groups(text) for t in g))

    def groups(self, text: str) -> list[tuple[str, ...]]:
        """Per English word or phrase of ``text``, the Japanese terms it may be written as
        (a word that is not in the list stands for itself)."""
        return [alts for _, alts in self.pairs(text)]

    def pairs(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """(English lemma or phrase, its Japanese terms) for each unit of ``text``."""
        words = _WORD.findall((text or "").replace("-", " "))
        lemmas = [lemma(w) for w in words]
        out: list[tuple[str, tuple[str, ...]]] = []
        i = 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                key = " ".join(lemmas[i : i + n])
                if key in self.entries:
                    out.append((key, self.entries[key]))
                    i += n
                    break
            else:
                w = words[i]
                year = _YEAR.match(w)
                found = self._word(lemmas[i])
                if year:
                    out.append((lemmas[i], tuple(era_year(int(year.group(1))))))
                elif found:
                    out.append((lemmas[i], found))
                elif w.lower() not in STOPWORDS and lemmas[i] not in STOPWORDS and len(w) > 1:
                    out.append((lemmas[i], (w.removesuffix("'s"),)))
                i += 1
        return out

    def _word(self, lem: str) -> tuple[str, ...]:
        """A single word's entry, also for -ing/-ed forms (promoting → promote)."""
        for cand in _verb_stems(lem):
            if cand in self.entries:
                return self.entries[cand]
        return ()

    def search_text(self, question: str) -> str:
        """The lexical query for an English question: its Japanese terms, space-separated.

        Any Japanese already in it (a follow-up rewritten with the previous question) is kept.
        """
        rest = _WORD.sub(" ", question or "")
        rest = " ".join(rest.replace("'", " ").split())
        terms = " ".join(self.terms(question))
        return f"{rest} {terms}".strip() if _has_letters(rest) else terms


@lru_cache(maxsize=1)
def default_glossary() -> Glossary:
    return Glossary.load()


def lexical_query(query: str, lang: str) -> str:
    """The words to look for: an English question looks for the documents' Japanese words
    (BM25, sentence picking); the multilingual embedder gets the question itself."""
    return (default_glossary().search_text(query) or query) if lang == "en" else query
