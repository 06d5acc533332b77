"""The answer JSON shared by the CLI, the HTTP API and the web page (see README)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Mode(StrEnum):
    chat = "chat"
    support = "support"
    draft = "draft"


@dataclass
class Message:
    role: str  # "user" | "assistant" | "system"
    content: str


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    section: str
    position: dict[str, Any]
    text: str
    score: float
    quote: str = ""  # the sentence(s) of the passage the answer relies on (highlighted in the UI)
    label: str = ""  # a citation label: 「中小企業基本法 第2条第1項」 for a statute article

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["score"] = round(self.score, 6)
        return d


class PartKind(StrEnum):
    """What a piece of an answer is. Only ``direct`` and ``claim`` assert anything the
    documents must support; the rest is our own framing, written by a presenter."""

    framing = "framing"  # lead-ins, greetings, labels of a multi-part answer, closings
    direct = "direct"  # the first sentence that answers, built from spans of the evidence
    claim = "claim"  # a line quoted from a passage (or a model's sentence that was checked)
    not_covered = "not_covered"  # "the documents do not say …" for one part
    nearest = "nearest"  # the related places shown when something is not covered
    sources = "sources"  # a sources list (drafts)
    chitchat = "chitchat"  # the reply to a greeting, thanks, …


@dataclass
class AnswerPart:
    kind: PartKind
    text: str  # as shown, without citation markers
    citations: list[int] = field(default_factory=list)  # [n] after renumbering
    spans: list[str] = field(default_factory=list)  # evidence copied verbatim into ``text``
    part: int = 0  # which question part (0-based) it belongs to
    bullet: bool = False  # shown as a list item (・)
    newline: bool = True  # ends its line

    @property
    def is_claim(self) -> bool:
        return self.kind in (PartKind.direct, PartKind.claim)

    def render(self) -> str:
        marks = "".join(f"[{n}]" for n in self.citations)
        text = f"・{self.text}" if self.bullet else self.text
        return f"{text}{marks}" + ("\n" if self.newline else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "text": self.text,
            "citations": list(self.citations),
            "part": self.part,
        }


@dataclass
class Removed:
    sentence: str
    reason: str
    kind: str  # "unsupported" | "bad_citation" | "uncited"

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class AnswerResult:
    question: str
    answer: str
    grounded: bool
    citations: list[Citation]
    removed: list[Removed]
    backend: str
    mode: str
    timings_ms: dict[str, float]
    lang: str = "ja"
    query: str = ""  # what was searched (a follow-up rewritten with its history)
    degraded: bool = False
    degraded_reason: str = ""
    nearest: list[dict[str, Any]] = field(default_factory=list)
    parts: list[AnswerPart] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "grounded": self.grounded,
            "citations": [c.to_json() for c in self.citations],
            "removed": [r.to_json() for r in self.removed],
            "backend": self.backend,
            "mode": self.mode,
            "lang": self.lang,
            "query": self.query,
            "degraded": self.degraded,
            "degraded_reason": self.degraded_reason,
            "nearest": self.nearest,
            "parts": [p.to_json() for p in self.parts],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }
