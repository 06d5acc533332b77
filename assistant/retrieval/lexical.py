"""A BM25 field as a llama-index retriever: scores every chunk for the query's terms.

One instance per search (cheap: it only holds references), so the terms, the candidate count
and the documents filter of one request never leak into another running in parallel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from assistant.index.bm25 import bm25_scores


def top_nodes(nodes: list[TextNode], scores: np.ndarray, k: int) -> list[NodeWithScore]:
    """The ``k`` best-scoring nodes with a positive score, best first (ties in index order)."""
    if scores.size == 0:
        return []
    k = min(k, scores.size)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [NodeWithScore(node=nodes[int(i)], score=float(scores[i])) for i in top if scores[i] > 0]


class BM25Field(BaseRetriever):
    def __init__(
        self,
        bm25: Any,
        nodes: list[TextNode],
        terms: list[str],
        top_k: int,
        allowed: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self._bm25 = bm25
        self._nodes = nodes
        self._terms = terms
        self._top_k = top_k
        self._allowed = allowed
        self.scores: np.ndarray = np.zeros(0, dtype=np.float32)  # all chunks, after retrieve()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        scores = bm25_scores(self._bm25, self._terms)
        if self._allowed is not None and scores.size:
            scores = np.where(self._allowed, scores, 0.0).astype(np.float32)
        self.scores = scores
        return top_nodes(self._nodes, scores, self._top_k)
