"""Generators behind one interface: ``stream(request) -> text deltas`` with ``[n]`` markers.

``n`` numbers the request's passages from 1; the guard renumbers what is used.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from assistant.answer.prompts import build_messages
from assistant.answer.text import (
    GENERIC_TERMS,
    looks_like_instruction,
    split_sentences,
    strip_bullet,
)
from assistant.answer.types import Message, Mode
from assistant.embedding.base import Embedder
from assistant.llm.chat_model import ChatModel
from assistant.retrieval.searcher import Passage
from assistant.text.tokenizer import Tokenizer


@dataclass
class GenerationRequest:
    question: str
    query: str
    lang: str
    mode: Mode
    passages: list[Passage]
    history: list[Message] = field(default_factory=list)
    query_vector: np.ndarray | None = None
    idf: dict[str, float] = field(default_factory=dict)
    # the words to look for in the passages: the query, or for an English question its
    # Japanese terms (assistant.text.bilingual)
    lexical_query: str = ""


class Generator(Protocol):
    name: str

    def stream(self, req: GenerationRequest) -> Iterator[str]: ...


LEAD_IN = {
    "ja": "資料には、次の記載があります。",
    "en": "The documents say the following (quoted from the Japanese source):",
}


EMB_WINDOW = 0.06


@dataclass
class Picked:
    passage: int  # 1-based
    order: int  # sentence index inside the passage
    text: str
    score: float
    lexical: float = 0.0


class ExtractiveGenerator:
    """Composes the answer from the passages' own sentences: faithful by construction."""

    name = "extractive"

    def __init__(self, tokenizer: Tokenizer, embedder: Embedder, max_sentences: int = 4) -> None:
        self.tokenizer = tokenizer
        self.embedder = embedder
        self.max_sentences = max_sentences
        self._cache: dict[str, np.ndarray] = {}
        self._term_cache: dict[str, frozenset[str]] = {}

    def _vectors(self, sentences: list[str]) -> np.ndarray:
        missing = [s for s in dict.fromkeys(sentences) if s not in self._cache]
        if missing:
            for s, v in zip(missing, self.embedder.embed_passages(missing), strict=True):
                self._cache[s] = v
            if len(self._cache) > 50_000:
                self._cache.clear()
        return np.stack([self._cache[s] for s in sentences]) if sentences else np.zeros((0, 1))

    def _terms(self, sentence: str) -> frozenset[str]:
        terms = self._term_cache.get(sentence)
        if terms is None:
            terms = frozenset(self.tokenizer.tokenize(sentence))
            if len(self._term_cache) > 50_000:
                self._term_cache.clear()
            self._term_cache[sentence] = terms
        return terms

    def warm(self, texts: list[str]) -> None:
        """Embed the sentences of these passages ahead of the first question."""
        sents = [
            s
            for s in dict.fromkeys(strip_bullet(x) for t in texts for x in split_sentences(t))
            if s
        ]
        for i in range(
            0, len(sents), 4
        ):  # small steps: a question's own embedding never waits long
            self._vectors(sents[i : i + 4])

    def pick(self, req: GenerationRequest, limit: int | None = None) -> list[Picked]:
        limit = limit or self.max_sentences
        q_terms = set(self.tokenizer.tokenize(req.lexical_query or req.query)) - GENERIC_TERMS
        weights = {t: req.idf.get(t, 1.0) for t in q_terms}
        total = sum(weights.values()) or 1.0
        cands: list[Picked] = []
        for pi, p in enumerate(req.passages, start=1):
            # a heading labels every sentence under it (【数値目標】 → its figures): half credit
            last = p.section.split(" > ")[-1] if p.section else ""
            heading = set(self.tokenizer.tokenize(last)) if last else set()
            sentences = split_sentences(p.text)
            if any(
                ch.isdigit() for ch in last
            ):  # a heading with figures is a fact (予算額:55,969千円)
                sentences = [last, *sentences]
            for si, s in enumerate(sentences):
                text = strip_bullet(s)
                if len(text) < 4 or looks_like_instruction(text):
                    continue
                terms = self._terms(text)
                lex = (
                    sum(
                        w if t in terms else 0.5 * w if t in heading else 0.0
                        for t, w in weights.items()
                    )
                    / total
                )
                cands.append(Picked(pi, si, text, lex, lex))
        if not cands:
            return []
        if req.query_vector is not None:
            sims = self._vectors([c.text for c in cands]) @ req.query_vector
            hi = float(sims.max())
            for c, sim in zip(cands, sims, strict=True):
                # E5 cosines crowd together: only sentences near the best one earn credit
                closeness = min(1.0, max(0.0, (float(sim) - (hi - EMB_WINDOW)) / EMB_WINDOW))
                c.score = 0.55 * c.score + 0.45 * closeness
        for c in cands:  # a little trust in the retriever's own ranking
            c.score += 0.1 * req.passages[c.passage - 1].score / math.sqrt(c.passage)
        if q_terms:
            # a sentence that shares no word with the question (for an English one, with its
            # Japanese terms) is not an answer to it
            top_lex = max(c.lexical for c in cands)
            cands = [c for c in cands if c.lexical >= 0.25 * top_lex] or cands
        cands.sort(key=lambda c: -c.score)
        best = cands[0].score
        chosen = [c for c in cands if c.score >= 0.6 * best][:limit]
        seen: set[str] = set()
        unique = []
        for c in chosen:
            if c.text not in seen:
                seen.add(c.text)
                unique.append(c)
        # document order, so the answer reads like the source
        unique.sort(
            key=lambda c: (
                req.passages[c.passage - 1].doc_id,
                req.passages[c.passage - 1].chunk_index,
                c.order,
            )
        )
        return unique

    def stream(self, req: GenerationRequest) -> Iterator[str]:
        picked = self.pick(req)
        if not picked:
            return
        for c in picked:
            yield f"{c.text}[{c.passage}]\n"


class LLMGenerator:
    """Any OpenAI-compatible chat model (OpenAI, vLLM, Ollama, llama.cpp server)."""

    name = "openai"

    def __init__(self, model: ChatModel) -> None:
        self.model = model

    def stream(self, req: GenerationRequest) -> Iterator[str]:
        yield from self.model.stream(
            build_messages(req.question, req.passages, req.lang, req.mode, req.history)
        )
