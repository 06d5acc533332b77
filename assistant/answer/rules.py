"""The question rules (``rules/questions.toml``), loaded once and matched on Sudachi's analysis.

A Japanese cue is analysed when it is loaded and matches a run of normalized forms, so one cue
covers its spellings (締切 / 締め切り / 〆切) and inflections (挙げて / 挙げる). An English cue
matches whole words of the lower-cased question.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.text.tokenizer import Morpheme, Tokenizer

RULES_FILE = Path(__file__).with_name("rules") / "questions.toml"


@dataclass(frozen=True)
class Cues:
    """Japanese cues as normalized-form sequences, English cues as word patterns."""

    ja: tuple[tuple[str, ...], ...]
    en: tuple[re.Pattern[str], ...]
    by_first: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, list[tuple[str, ...]]] = {}
        for cue in self.ja:
            index.setdefault(cue[0], []).append(cue)
        object.__setattr__(self, "by_first", {k: tuple(v) for k, v in index.items()})

    def match_ja(self, norms: list[str]) -> list[tuple[int, int]]:
        """Spans (start, end) of ``norms`` that a cue covers."""
        spans = []
        for i, first in enumerate(norms):
            for cue in self.by_first.get(first, ()):
                n = len(cue)
                if tuple(norms[i : i + n]) == cue:
                    spans.append((i, i + n))
        return spans

    def match_en(self, text: str) -> bool:
        low = text.lower()
        return any(p.search(low) for p in self.en)

    def matches(self, morphs: list[Morpheme], text: str) -> bool:
        return bool(self.match_ja(norm_forms(morphs))) or self.match_en(text)


@dataclass(frozen=True)
class Rule:
    name: str
    cues: Cues
    examples: tuple[str, ...] = ()
    counter: tuple[str, ...] = ()
    evidence: re.Pattern[str] | None = None
    topic: dict[str, str] = field(default_factory=dict)
    subject: bool = False  # the cue words stay in the question's subject (GRP, 人口)
    polar: bool = True  # a yes-no question can ask for it (not a name: 「知事を兼ねられる？」)


@dataclass(frozen=True)
class RuleSet:
    asks: dict[str, Rule]
    when: dict[str, Rule]
    needs: dict[str, Rule]
    chitchat: dict[str, Rule]
    social: Cues
    social_words: frozenset[str]  # normalized forms of the social vocabulary
    remark_words: frozenset[str]  # a remark on the exchange (説明, 参考, 分かる, 易い)
    organisation: tuple[str, ...]
    role_words: frozenset[str]
    self_ja: frozenset[str]
    self_en: frozenset[str]
    business_words: frozenset[str]
    asker_examples: tuple[str, ...] = ()
    asker_counter: tuple[str, ...] = ()


def norm_forms(morphs: list[Morpheme]) -> list[str]:
    return [m.normalized.lower() for m in morphs if m.coarse not in ("補助記号", "空白")]


def _en_pattern(cue: str) -> re.Pattern[str]:
    words = r"\s+".join(re.escape(w) for w in cue.lower().split())
    return re.compile(rf"(?<![a-z]){words}(?![a-z])")


def _cues(tok: Tokenizer, ja: list[str], en: list[str]) -> Cues:
    seqs = []
    for cue in ja:
        norms = tuple(norm_forms(tok.parse(cue)))
        if norms:
            seqs.append(norms)
    return Cues(tuple(seqs), tuple(_en_pattern(c) for c in en))


def _rules(tok: Tokenizer, table: dict[str, Any]) -> dict[str, Rule]:
    out = {}
    for name, spec in table.items():
        ev = spec.get("evidence")
        out[name] = Rule(
            name=name,
            cues=_cues(tok, list(spec.get("ja", [])), list(spec.get("en", []))),
            examples=tuple(spec.get("examples", [])),
            counter=tuple(spec.get("counter", [])),
            evidence=re.compile(ev) if ev else None,
            topic={"ja": spec.get("topic_ja", ""), "en": spec.get("topic_en", "")},
            subject=bool(spec.get("subject", False)),
            polar=bool(spec.get("polar", True)),
        )
    return out


def _words(tok: Tokenizer, words: list[str]) -> frozenset[str]:
    """The words' normalized forms, and the words themselves (おる alone reads as 居る)."""
    return frozenset(
        {n for w in words for n in norm_forms(tok.parse(w))} | {w.lower() for w in words}
    )


def load_rules(tok: Tokenizer, path: Path = RULES_FILE) -> RuleSet:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    social = data["social"]
    asker = data["asker"]
    return RuleSet(
        asks=_rules(tok, data["asks"]),
        when=_rules(tok, data["when"]),
        needs=_rules(tok, data["needs"]),
        chitchat=_rules(tok, data["chitchat"]),
        social=_cues(tok, social["ja"], social["en"]),
        social_words=_words(tok, social["ja"]),
        remark_words=_words(tok, social.get("remark", [])),
        organisation=tuple(asker["organisation"]),
        role_words=_words(tok, asker["role"]),
        self_ja=_words(tok, asker["self_ja"]),
        self_en=frozenset(w.lower() for w in asker["self_en"]),
        business_words=_words(tok, asker["business"]),
        asker_examples=tuple(asker.get("examples", [])),
        asker_counter=tuple(asker.get("counter", [])),
    )


@functools.cache
def need_topics(path: Path = RULES_FILE) -> dict[str, tuple[str, str]]:
    """What each need is called in an answer, (Japanese, English): the rules' topic_ja/topic_en,
    so a need added to the rules is named in every answer without a second table."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {name: (spec["topic_ja"], spec["topic_en"]) for name, spec in data["needs"].items()}


_loaded: dict[int, tuple[Tokenizer, RuleSet]] = {}


def rules_for(tok: Tokenizer) -> RuleSet:
    """The rule set analysed with ``tok`` (loaded once per tokenizer)."""
    hit = _loaded.get(id(tok))
    if hit is None or hit[0] is not tok:
        hit = (tok, load_rules(tok))
        _loaded[id(tok)] = hit
    return hit[1]
