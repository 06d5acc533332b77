"""The LLM generator: any OpenAI-compatible model writes the answer from the selected evidence.

The model sees the evidence lines of the covered parts (numbered by passage), never whole
passages (:func:`~assistant.answer.prompts.evidence_messages`). What it writes is repaired and
checked sentence by sentence as it streams:

- prompt markup it copied (「</passage>」, ``&gt;``, 【1】, [1][1]) is cleaned away first;
- a sentence without a marker gets the marker of the passage that supports it, a wrongly cited
  one the right marker (the guard's support checks); unsupported sentences are dropped and
  listed in ``removed``;
- its "the documents do not say" for a part is not shown (the answer says which parts are not
  covered, part by part, from the judge);
- nothing is shown until a first sentence survives (answer first). When the first
  :data:`MAX_LEADING_DROPS` claims are all dropped, or nothing survives, generation stops and
  the structured extractive answer is used instead (``degraded``, with the reason in
  :attr:`GuardSession.degraded_reason`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from assistant.answer.compose import Block
from assistant.answer.guard import GuardSession, clean_model_text
from assistant.answer.prompts import evidence_messages, says_not_in_docs
from assistant.answer.text import looping, markers, split_answer, strip_markers
from assistant.answer.types import AnswerPart, PartKind, Removed
from assistant.answer.understand import Understanding
from assistant.llm.chat_model import ChatModel
from assistant.retrieval.searcher import Passage

MAX_LEADING_DROPS = 3  # claims dropped before any is kept: the model is not answering
_PENDING_MARKER = re.compile(r"^\s*(?:\[[\d,、\s]*\]?\s*)*$")  # "", " [", "[1", "[1][2"


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
        covered = [b.part.text for b in blocks if b.coverage.covered]
        question = " ".join(covered) or u.question
        return evidence_messages(question, numbered, u.lang, u.mode)

    def stream_parts(
        self, u: Understanding, blocks: list[Block], passages: list[Passage], session: GuardSession
    ) -> Iterator[AnswerPart]:
        """Checked sentences as they arrive. Raises :class:`NotInDocuments` when the model says
        the documents do not answer (before anything was shown)."""
        writer = _Writer(session, single=sum(b.coverage.covered for b in blocks) <= 1)
        buf = ""
        deltas = self.model.stream(self.prompt(u, blocks, passages))
        try:
            for d in deltas:
                buf += d
                units = split_answer(buf)
                if len(units) <= 1:
                    if looping(buf):  # stuck: the rest would be the same words until max_tokens
                        writer.stuck(buf)
                        buf = ""
                        break
                    continue
                done, buf = units[:-1], units[-1]
                if _PENDING_MARKER.match(buf) and done and done[-1] != "\n":
                    # the sentence's marker may still be arriving ("…です。" then "[1]")
                    buf = done.pop() + buf
                for unit in done:
                    yield from writer.feed(unit)
                if writer.gave_up:
                    break
        finally:
            close = getattr(deltas, "close", None)
            if close is not None:  # stop the generation (and free the model's slot) now
                close()
        if not writer.gave_up:
            for unit in split_answer(buf):
                yield from writer.feed(unit)
        yield from writer.finish()


class _Writer:
    """The state of one streamed answer: what is held back until a first claim survives."""

    def __init__(self, session: GuardSession, single: bool) -> None:
        self.session = session
        self.single = single  # one covered part: "not in the documents" first means abstain
        self.held: list[AnswerPart] = []
        self.shown = False
        self.drops = 0
        self.units = 0
        self.said_not_in_docs = False
        self.gave_up = False

    def feed(self, unit: str) -> Iterator[AnswerPart]:
        if unit == "\n" or not unit.strip():
            return  # layout: every part ends its line
        self.units += 1
        clean = clean_model_text(unit)
        if says_not_in_docs(strip_markers(clean)):
            self.said_not_in_docs = True
            if self.units == 1 and self.single:
                raise NotInDocuments(clean)
            return  # the judge's per-part notes say which parts the documents do not cover
        before_removed = len(self.session.removed)
        before_claims = self.session.kept_claims
        kept = self.session.feed(clean)
        if not kept.strip():
            if len(self.session.removed) > before_removed and not self.shown:
                self.drops += 1
                if self.drops >= MAX_LEADING_DROPS:
                    self.session.degraded_reason = (
                        f"the faithfulness guard removed the model's first {self.drops} "
                        "sentences (not supported by the passages): the answer is extractive"
                    )
                    self.gave_up = True
            return
        is_claim = self.session.kept_claims > before_claims
        part = AnswerPart(
            PartKind.claim if is_claim else PartKind.framing,
            strip_markers(kept).strip(),
            markers(kept),
        )
        if self.shown:
            yield part
            return
        self.held.append(part)
        if is_claim:
            self.shown = True
            yield from self.held
            self.held = []

    def stuck(self, unit: str) -> None:
        """The model loops in ``unit``: it is dropped and the generation stopped."""
        self.session.feed(clean_model_text(unit))
        if not self.shown:
            self.session.degraded_reason = (
                "the model repeated the same words over and over: the answer is extractive"
            )
            self.gave_up = True

    def finish(self) -> Iterator[AnswerPart]:
        if self.shown:
            return iter(())
        if self.said_not_in_docs and not self.drops and not self.gave_up:
            raise NotInDocuments("the model said the documents do not answer")
        if not self.gave_up:
            n = sum(1 for r in self.session.removed if r.kind != "bad_citation")
            self.session.degraded_reason = (
                f"the faithfulness guard removed every sentence of the model's answer ({n} "
                "removed): the answer is extractive"
            )
        if self.held:  # framing alone ("以下のとおりです。") is not an answer
            self.session.removed.extend(
                Removed(p.text, "framing without an answer after it", kind="framing")
                for p in self.held
            )
        return iter(())
