"""The phrase field: the question's content phrases found verbatim in a chunk.

The question is cut at its particles, auxiliaries, symbols and question words
(:func:`assistant.retrieval.query.content_segments`); each piece of two or more characters
that a chunk holds verbatim (in the search form, without spaces) adds
``log(1 + N/df) × min(len, 8) / 2`` to the chunk's score — rare and long phrases count most.
「第45回衆議院議員総選挙」 then outranks a paragraph about the 47th, and 「小規模企業者」 an article
that only has 「企業者」. Measured as a fusion field (README, ``eval/results/fusion-latest.md``).
"""

from __future__ import annotations

import math

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from assistant.retrieval.lexical import top_nodes
from assistant.text.normalize import search_form

MIN_CHARS = 2
LONG = 8  # a phrase longer than this counts as this long


def phrase_text(text: str) -> str:
    """A chunk's text as the phrase field sees it: search form, lower case, no whitespace."""
    return "".join(search_form(text).lower().split())


def phrase_scores(texts: list[str], phrases: list[str]) -> np.ndarray:
    n = len(texts)
    scores = np.zeros(n, dtype=np.float32)
    for p in dict.fromkeys("".join(x.lower().split()) for x in phrases):
        if len(p) < MIN_CHARS:
            continue
        hit = np.fromiter((p in t for t in texts), dtype=bool, count=n)
        df = int(hit.sum())
        if df:
            scores += hit * np.float32(math.log(1 + n / df) * min(len(p), LONG) / 2)
    return scores


class PhraseField(BaseRetriever):
    """One instance per search, like :class:`assistant.retrieval.lexical.BM25Field`."""

    def __init__(
        self,
        texts: list[str],
        nodes: list[TextNode],
        phrases: list[str],
        top_k: int,
        allowed: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self._texts = texts
        self._nodes = nodes
        self._phrases = phrases
        self._top_k = top_k
        self._allowed = allowed
        self.scores: np.ndarray = np.zeros(0, dtype=np.float32)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        scores = phrase_scores(self._texts, self._phrases)
        if self._allowed is not None and scores.size:
            scores = np.where(self._allowed, scores, 0.0).astype(np.float32)
        self.scores = scores
        return top_nodes(self._nodes, scores, self._top_k)
