"""The hybrid llama-index retriever: named fields (dense, Sudachi BM25, bigram BM25) fused.

Each field nominates its candidates; ``fill`` then gives every candidate its score in every
field (a passage found only by BM25 still has a dense similarity), the fields are fused
(weighted min-max or RRF, :mod:`assistant.retrieval.fusion`), and the top is spread over
documents (``doc_decay``). All choices are settings picked by measurement (README).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle

from assistant.retrieval.fusion import diversify, rrf_fields, weighted_fields

Scores = dict[str, dict[str, float]]  # field → chunk id → score


class HybridRetriever(BaseRetriever):
    def __init__(
        self,
        fields: dict[str, BaseRetriever],
        weights: dict[str, float],
        top_k: int = 5,
        fusion: str = "weighted",
        rrf_k: int = 60,
        fill: Callable[[Scores], None] | None = None,
        doc_decay: float = 1.0,
        chunk_weight: Callable[[str], float] | None = None,
    ) -> None:
        super().__init__()
        self.fields = fields
        self.weights = weights
        self.top_k = top_k
        self.fusion = fusion
        self.rrf_k = rrf_k
        self.fill = fill
        self.doc_decay = doc_decay
        self.chunk_weight = chunk_weight  # the document prior of a chunk (router.py)
        self.last_components: Scores = {}

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        nodes: dict[str, Any] = {}
        scores: Scores = {}
        for name, retriever in self.fields.items():
            scores[name] = {}
            for n in retriever.retrieve(query_bundle):
                nodes.setdefault(n.node.node_id, n.node)
                scores[name][n.node.node_id] = float(n.score or 0.0)
        if self.fill is not None:
            self.fill(scores)
        if len(scores) == 1:
            (only,) = scores.values()
            fused = {k: v for k, v in only.items() if k in nodes}
        elif self.fusion == "rrf":
            fused = rrf_fields(scores, self.weights, self.rrf_k)
        else:
            fused = weighted_fields(scores, self.weights)
        fused = {k: v for k, v in fused.items() if k in nodes}
        if self.chunk_weight is not None:
            fused = {k: v * self.chunk_weight(k) for k, v in fused.items()}
        self.last_components = scores
        dense = scores.get("dense", {})
        # the chunk id breaks exact ties: the same question, the same order in every process
        ranked = sorted(fused, key=lambda k: (-fused[k], -dense.get(k, 0.0), k))
        doc_of = {k: str(nodes[k].metadata.get("doc_id", "")) for k in ranked}
        order = diversify(ranked, fused, doc_of, self.doc_decay, self.top_k)
        return [NodeWithScore(node=nodes[k], score=fused[k]) for k in order]
