"""The LLM generator: any OpenAI-compatible model writes the answer from the selected evidence.

The model sees the evidence lines of the covered parts (numbered by passage), never whole
passages; each sentence it writes is checked by the guard as it streams. What the guard keeps
becomes claim parts; an answer the guard empties is replaced by the extractive one.
"""

from __future__ import annotations

from collections.abc import Iterator

from assistant.answer.compose import Block
from assistant.answer.guard import GuardSession
from assistant.answer.prompts import evidence_messages, says_not_in_docs
from assistant.answer.text import markers, split_answer, strip_markers
from assistant.answer.types import AnswerPart, PartKind
from assistant.answer.understand import Understanding
from assistant.llm.chat_model import ChatModel
from assistant.retrieval.searcher import Passage


class NotInDocuments(Exception):
    """The model answered that the documents do not say (its answer is not used)."""


class LLMAnswerer:
    name = "openai"

    def __init__(self, model: ChatModel, max_passages: int = 3) -> None:
        self.model = model
        self.max_passages = max_passages

    def prompt(
        self, u: Understanding, blocks: list[Block], passages: list[Passage]
    ) -> list[dict[str, str]]:
        lines: dict[int, list[str]] = {}
        for b in blocks:
            if not b.coverage.covered:
                continue
            ev = b.evidence
            chosen = ([ev.anchor] if ev.anchor is not None else []) + ev.lines
            for ln in chosen:
                for n in b.cite(ln):
                    if ln.text not in lines.setdefault(n, []):
                        lines[n].append(ln.text)
        ranked = sorted(lines)[: max(self.max_passages, 1) * 2]
        numbered = [(n, passages[n - 1], lines[n]) for n in ranked]
        question = " ".join(p.text for p in u.parts) or u.question
        return evidence_messages(question, numbered, u.lang, u.mode)

    def stream_parts(
        self, u: Understanding, blocks: list[Block], passages: list[Passage], session: GuardSession
    ) -> Iterator[AnswerPart]:
        """Checked sentences as they arrive. Raises :class:`NotInDocuments` when the model says
        the documents do not answer (before anything was shown)."""
        buf = raw = ""
        shown = False
        for d in self.model.stream(self.prompt(u, blocks, passages)):
            buf += d
            raw += d
            if (
                not shown
                and len(raw) < 200
                and says_not_in_docs(raw)
                and ("。" in raw or "." in raw)
            ):
                raise NotInDocuments(raw)
            units = split_answer(buf)
            if len(units) <= 1:
                continue
            done, buf = units[:-1], units[-1]
            for unit in done:
                part = _part(session, unit)
                if part is not None:
                    shown = True
                    yield part
        if not shown and says_not_in_docs(raw):
            raise NotInDocuments(raw)
        for unit in split_answer(buf):
            part = _part(session, unit)
            if part is not None:
                yield part


def _part(session: GuardSession, unit: str) -> AnswerPart | None:
    if unit == "\n" or not unit.strip():
        return None
    before = session.kept_claims
    kept = session.feed(unit)
    if not kept.strip():
        return None
    text = strip_markers(kept).strip()
    kind = PartKind.claim if session.kept_claims > before else PartKind.framing
    return AnswerPart(kind, text, markers(kept))
